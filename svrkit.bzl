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

_CTL_TEMPLATE = Label("//bazel:svrkit_ctl.sh.tpl")

def svrkit_service(
        name,
        idl,
        importpath,
        srcs = [],
        test_srcs = [],
        app = None,
        deps = [],
        visibility = None,
        **kwargs):
    """Generates, builds and tests a svrkit service.

    Args:
      name: the app name, as in the IDL's "app" field (used for file names); the
        build fails with one clear line when it is not (then set name or app).
      idl: label of the JSON IDL file.
      importpath: Go import path of the package holding the service; the typed
        client library gets importpath + "/api/" + app.
      srcs: the user's handler files: every <app>_*_handler.go that svrkit gen
        wrote once (rpc, init, self), and any other Go files of the package.
      test_srcs: the user's own test files, added to <name>_test (they may call
        startTestService from the generated test).
      app: the IDL's app name when it differs from name.
      deps: extra Go dependencies of the handler files.
      visibility: visibility of the client library, conf files and binaries.
      **kwargs: passed to every generated rule (tags, testonly, ...).

    Targets:
      <name>_gen: the generator action (all generated files).
      <name>_cli: go_library, the typed client (importpath + "/api/" + app).
      <name>_svr: go_binary, the service (flags -f conf, -d, -s stop|status).
      <name>_test: go_test, starts the service in-process and reaches every API.
      <name>_svr_conf, <name>_cli_conf: the generated configuration files.
      <name>_ctl: sh_binary, the control script (start|stop|restart|status),
        run with `bazel run //pkg:<name>_ctl -- start`.
    """
    app = app or name
    out = "_%s_gen/" % name

    # The generator writes the same files for every IDL (gen.GeneratedFiles); the
    # user's files all end in _handler.go and come in through srcs.
    files = {
        "svr": out + app + "_svr.go",
        "test": out + app + "_test.go",
        "proto": out + "api/" + app + "/" + app + "_proto.go",
        "cli": out + "api/" + app + "/" + app + "_cli.go",
        "svr_conf": out + app + "_svr.conf",
        "cli_conf": out + app + "_cli.conf",
        "script": out + app,
    }
    gen_srcs = [files["svr"]]
    outs = sorted(files.values())

    # -app: a clear error when the IDL's app is not the one these outputs are named for.
    # -handlers: a clear error (the API or group, and the command that writes its stub)
    # when srcs lack a handler the IDL needs.
    native.genrule(
        name = name + "_gen",
        srcs = [idl] + srcs,
        outs = outs,
        cmd = " ".join([
            "$(execpath %s) gen" % _GENERATOR,
            "-f $(execpath %s)" % idl,
            "-d $(RULEDIR)/%s" % out.rstrip("/"),
            "-importpath %s" % importpath,
            "-app %s" % app,
            "-generated-only -quiet -handlers",
        ] + ["$(execpaths %s)" % s for s in srcs]),
        tools = [_GENERATOR],
        **kwargs
    )

    native.filegroup(
        name = name + "_svr_conf",
        srcs = [files["svr_conf"]],
        visibility = visibility,
        **kwargs
    )
    native.filegroup(
        name = name + "_cli_conf",
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
        srcs = gen_srcs + [files["test"]] + srcs + test_srcs,
        deps = server_deps,
        **kwargs
    )

    # The control script, pointed at the binary and conf in the runfiles tree.
    native.genrule(
        name = name + "_ctl_sh",
        srcs = [_CTL_TEMPLATE, files["script"], ":" + name + "_svr", files["svr_conf"]],
        outs = [out + app + "_ctl.sh"],
        cmd = " ".join([
            "sed",
            "-e 's|@SVR@|$(rootpath :%s_svr)|'" % name,
            "-e 's|@CONF@|$(rootpath %s)|'" % files["svr_conf"],
            "-e 's|@SCRIPT@|$(rootpath %s)|'" % files["script"],
            "$(execpath %s) > $@" % _CTL_TEMPLATE,
        ]),
        **kwargs
    )
    native.sh_binary(
        name = name + "_ctl",
        srcs = [out + app + "_ctl.sh"],
        data = [":" + name + "_svr", files["script"], files["svr_conf"], files["cli_conf"]],
        visibility = visibility,
        **kwargs
    )
