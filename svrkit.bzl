"""svrkit_service: build a msgpack-rpc service from a svrkit JSON IDL.

Load it from another workspace with

    load("@svrkit//:svrkit.bzl", "svrkit_service")

See README.md ("Bazel rule") for every target it makes.
"""

load("@io_bazel_rules_go//go:def.bzl", "go_binary", "go_library", "go_test")

# The runtime packages generated code imports. Wrapped in Label() so they
# resolve against svrkit's workspace, not the caller's.
_RUNTIME = [
    Label("//codec"),
    Label("//router"),
    Label("//service"),
    Label("//transport"),
    Label("//workers"),
]

_GENERATOR = Label("//gen/cmd/svrkit")

def svrkit_service(
        name,
        idl,
        importpath,
        srcs = [],
        app = None,
        deps = [],
        visibility = None,
        **kwargs):
    """Generates, builds and tests a svrkit service.

    Args:
      name: the app name, as in the IDL's "app" field (used for file names).
      idl: label of the JSON IDL file.
      importpath: Go import path of the package holding the service; the typed
        client library gets importpath + "/api/" + app.
      srcs: the user's handler files (<app>_rpc_handler.go, self handlers, ...).
      app: the IDL's app name when it differs from name.
      deps: extra Go dependencies of the handler files.
      visibility: visibility of the client library, conf files and binaries.
      **kwargs: passed to every generated rule (tags, testonly, ...).

    Targets:
      <name>_gen: the generator action (all generated files).
      <name>_cli: go_library, the typed client (importpath + "/api/" + app).
      <name>_svr: go_binary, the service (flags -f conf, -d, -s stop|status).
      <name>_test: go_test, starts the service in-process and calls every API.
      <name>_svr.conf, <name>_cli.conf: the generated configuration files.
      <name>: sh_binary, the control script (start|stop|restart|status).
    """
    app = app or name
    out = "_%s_gen/" % name
    files = {
        "svr": out + app + "_svr.go",
        "test": out + app + "_test.go",
        "proto": out + "api/" + app + "/" + app + "_proto.go",
        "cli": out + "api/" + app + "/" + app + "_cli.go",
        "svr_conf": out + app + "_svr.conf",
        "cli_conf": out + app + "_cli.conf",
        "script": out + app,
    }

    # With custom dispatch the generator writes the self dispatch table; with
    # simple dispatch <app>_self_handler.go is the user's own file.
    self_file = app + "_self_handler.go"
    gen_srcs = [files["svr"]]
    if not [s for s in srcs if s.split(":")[-1].split("/")[-1] == self_file]:
        gen_srcs.append(out + self_file)
    outs = sorted(files.values() + gen_srcs[1:])

    native.genrule(
        name = name + "_gen",
        srcs = [idl],
        outs = outs,
        cmd = " ".join([
            "$(execpath %s) gen" % _GENERATOR,
            "-f $(execpath %s)" % idl,
            "-d $(RULEDIR)/%s" % out.rstrip("/"),
            "-importpath %s" % importpath,
            "-generated-only -quiet",
        ]),
        tools = [_GENERATOR],
        **kwargs
    )

    native.filegroup(
        name = name + "_svr.conf",
        srcs = [files["svr_conf"]],
        visibility = visibility,
        **kwargs
    )
    native.filegroup(
        name = name + "_cli.conf",
        srcs = [files["cli_conf"]],
        visibility = visibility,
        **kwargs
    )

    go_library(
        name = name + "_cli",
        srcs = [files["proto"], files["cli"]],
        importpath = importpath + "/api/" + app,
        deps = _RUNTIME,
        visibility = visibility,
        **kwargs
    )

    server_deps = [":" + name + "_cli"] + _RUNTIME + deps
    go_binary(
        name = name + "_svr",
        srcs = gen_srcs + srcs,
        deps = server_deps,
        visibility = visibility,
        **kwargs
    )

    go_test(
        name = name + "_test",
        srcs = gen_srcs + [files["test"]] + srcs,
        deps = server_deps,
        **kwargs
    )

    # The control script finds the binary and conf through environment
    # variables set by this launcher, relative to the runfiles root that
    # `bazel run` uses as the working directory.
    native.genrule(
        name = name + "_launcher",
        srcs = [files["script"], ":" + name + "_svr", files["svr_conf"]],
        outs = [out + app + "_launcher.sh"],
        cmd = "\n".join([
            "cat > $@ <<'EOF'",
            "#!/bin/sh",
            "# Runs the generated control script with the binary and conf from runfiles.",
            "here=$${RUNFILES_DIR:-$$0.runfiles/$${TEST_WORKSPACE:-}}",
            "[ -d \"$$here\" ] || here=$$(pwd)",
            "EOF",
            "printf 'cd \"%%s\" 2>/dev/null || true\\n' '.' >> $@",
            "printf 'SVRKIT_SVR_BIN=\"$$(pwd)/%s\"; export SVRKIT_SVR_BIN\\n' '$(rootpath :%s_svr)' >> $@" % name,
            "printf 'SVRKIT_SVR_CONF=\"$${SVRKIT_SVR_CONF:-$$(pwd)/%s}\"; export SVRKIT_SVR_CONF\\n' '$(rootpath %s)' >> $@" % files["svr_conf"],
            "printf 'exec sh \"$$(pwd)/%s\" \"$$@\"\\n' '$(rootpath %s)' >> $@" % files["script"],
        ]),
        **kwargs
    )
    native.sh_binary(
        name = name,
        srcs = [out + app + "_launcher.sh"],
        data = [":" + name + "_svr", files["script"], files["svr_conf"], files["cli_conf"]],
        visibility = visibility,
        **kwargs
    )
