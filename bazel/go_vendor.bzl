"""svrkit_go_vendor: the packages a separate Go module imports, as go_library targets.

For a tool with its own go.mod (tools/bench) whose dependencies are too many
to map by hand (gRPC: ~150 packages, assembly in x/sys). Without gazelle and
without downloads by URL: the host `go` does the work.

  1. A synthetic module in `_mod/`: go.mod with the `require` lines of the
     given go.mod minus `drop_modules` (no replace), the given go.sum copied,
     and deps.go importing `imports`.
  2. `go mod vendor` (go checks every module against go.sum; the rule also
     fails if go had to add a line to go.sum), then `go list -mod=vendor -deps`
     so that build constraints are evaluated by go itself (CGO_ENABLED=0, host
     GOOS/GOARCH).
  3. Each vendored package directory P moves to P/ in the repository root
     with a BUILD.bazel: go_library(name = last element of P, srcs = GoFiles +
     SFiles + HFiles, importpath = P, embedsrcs, deps on the labels of its
     non-standard imports). Labels read like import paths:
     `@<name>//google.golang.org/grpc`, `@<name>//google.golang.org/protobuf/types/known/emptypb`.

Anything unsupported (cgo files, a package go cannot load) fails with one line
naming the package.
"""

load(":gomod.bzl", "GO_ENVIRON", "find_go")

# One line per package, tab-separated; lists are space-separated (Go file names
# and import paths hold no spaces).
_LIST_FORMAT = "\t".join([
    "{{.ImportPath}}",
    "{{.Standard}}",
    "{{.Name}}",
    "{{.Dir}}",
    "{{if .Module}}{{.Module.Path}}{{end}}",
    "{{join .GoFiles \" \"}}",
    "{{join .SFiles \" \"}}",
    "{{join .HFiles \" \"}}",
    "{{join .Imports \" \"}}",
    "{{join .EmbedFiles \" \"}}",
    "{{join .CgoFiles \" \"}}{{join .CFiles \" \"}}{{join .CXXFiles \" \"}}{{join .SysoFiles \" \"}}",
    "{{if .Error}}{{.Error}}{{end}}",
])

_FIELDS = 12

def _requires(go_mod, drop, where):
    """Returns the `require` lines ("module version [// indirect]") of go_mod minus drop."""
    out = []
    in_block = False
    for raw in go_mod.split("\n"):
        line = raw.strip()
        if in_block:
            if line.startswith(")"):
                in_block = False
                continue
            req = line
        elif line.startswith("require ("):
            in_block = True
            continue
        elif line.startswith("require "):
            req = line[len("require "):].strip()
        else:
            continue
        if not req or req.startswith("//"):
            continue
        fields = _split(req.replace("\t", " "))
        if len(fields) < 2:
            fail("svrkit: cannot read require line %r of %s" % (raw, where))
        if fields[0] in drop:
            continue
        out.append(req)
    if in_block:
        fail("svrkit: unterminated require block in %s" % where)
    return out

def _go_directive(go_mod):
    for raw in go_mod.split("\n"):
        line = raw.strip()
        if line.startswith("go "):
            return line
    return None

def _split(s):
    return [x for x in s.split(" ") if x]

def _is_std_path(imp):
    return "." not in imp.split("/")[0]

def _impl(rctx):
    go = find_go(rctx, "vendoring the Go packages of %s" % rctx.attr.go_mod)
    where = str(rctx.attr.go_mod)
    go_mod = rctx.read(rctx.attr.go_mod)
    go_sum = rctx.read(rctx.attr.go_sum)
    drop = {m: True for m in rctx.attr.drop_modules}

    requires = _requires(go_mod, drop, where)
    go_line = _go_directive(go_mod) or "go 1.26"
    mod = "\n".join(
        ["// Synthetic module written by svrkit_go_vendor from %s. Do not edit." % where, "module svrkit.invalid/vendor", "", go_line, ""] +
        ["require %s" % r for r in requires] +
        [""],
    )
    rctx.file("_mod/go.mod", mod, executable = False)
    rctx.file("_mod/go.sum", go_sum, executable = False)
    rctx.file("_mod/deps.go", "\n".join(
        ["// Written by svrkit_go_vendor: the packages to vendor.", "package deps", "", "import ("] +
        ['\t_ "%s"' % imp for imp in rctx.attr.imports] +
        [")", ""],
    ), executable = False)

    env = {
        "GOFLAGS": "-mod=mod",
        "GOWORK": "off",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
        "GO111MODULE": "on",
    }
    moddir = str(rctx.path("_mod"))

    # Build constraints are evaluated for the host, whatever GOOS/GOARCH say.
    res = rctx.execute([go, "env", "GOHOSTOS", "GOHOSTARCH"], working_directory = moddir, environment = env)
    host = res.stdout.strip().split("\n")
    if res.return_code != 0 or len(host) != 2:
        fail("svrkit: `go env GOHOSTOS GOHOSTARCH` failed: %s" % (res.stderr.strip() or res.stdout.strip()))
    env["GOOS"], env["GOARCH"] = host[0].strip(), host[1].strip()

    rctx.report_progress("go mod vendor (%s)" % where)
    res = rctx.execute([go, "mod", "vendor"], working_directory = moddir, environment = env, timeout = 1800)
    if res.return_code != 0:
        fail("svrkit: go mod vendor for %s failed: %s" % (where, " | ".join((res.stderr.strip() or res.stdout.strip()).split("\n"))))
    if rctx.read("_mod/go.sum") != go_sum:
        fail("svrkit: %s lacks lines go needed (go mod vendor had to add them); run `go mod tidy` next to %s" % (rctx.attr.go_sum, where))

    rctx.report_progress("go list -deps (%s)" % where)
    env_list = dict(env)
    env_list["GOFLAGS"] = "-mod=vendor"
    res = rctx.execute(
        [go, "list", "-mod=vendor", "-e", "-deps", "-f", _LIST_FORMAT] + rctx.attr.imports,
        working_directory = moddir,
        environment = env_list,
        timeout = 600,
    )
    if res.return_code != 0:
        fail("svrkit: go list for %s failed: %s" % (where, " | ".join(res.stderr.strip().split("\n"))))

    vendor = moddir + "/vendor/"
    packages = []
    std = {}
    for line in res.stdout.split("\n"):
        if not line:
            continue
        f = line.split("\t")
        if len(f) != _FIELDS:
            fail("svrkit: unexpected go list line for %s: %r" % (where, line))
        importpath, standard, name, dir = f[0], f[1] == "true", f[2], f[3]
        if f[11]:
            fail("svrkit: go cannot load package %s (for %s): %s" % (importpath, where, f[11]))
        if standard:
            std[importpath] = True
            continue
        if f[10]:
            fail("svrkit: package %s uses cgo or non-Go sources (%s), which svrkit_go_vendor does not support" % (importpath, f[10]))
        if not dir.startswith(vendor) or dir[len(vendor):] != importpath:
            fail("svrkit: package %s (for %s) is not vendored in vendor/%s but in %s" % (importpath, where, importpath, dir))
        if name == "main":
            fail("svrkit: %s is a command (package main), not a library; drop it from imports" % importpath)
        packages.append(struct(
            importpath = importpath,
            srcs = _split(f[5]) + _split(f[6]) + _split(f[7]),
            imports = _split(f[8]),
            embeds = _split(f[9]),
        ))
    if not packages:
        fail("svrkit: no third-party packages for %s (imports = %s)" % (where, rctx.attr.imports))

    known = {p.importpath: True for p in packages}
    for p in packages:
        for e in p.embeds:
            sub = p.importpath + "/" + e
            for q in known:
                if sub.startswith(q + "/") and q != p.importpath and q.startswith(p.importpath + "/"):
                    fail("svrkit: %s embeds %s, which lies in package %s (a Bazel package boundary)" % (p.importpath, e, q))

    # Move vendor/<top> next to _mod: labels without a vendor/ prefix.
    tops = {}
    for p in packages:
        tops[p.importpath.split("/")[0]] = True
    for top in sorted(tops.keys()):
        res = rctx.execute(["mv", vendor + top, str(rctx.path(top))])
        if res.return_code != 0:
            fail("svrkit: moving vendor/%s into @%s failed: %s" % (top, rctx.name, res.stderr.strip()))

    for p in packages:
        deps = []
        for imp in p.imports:
            if imp in std or imp == "C":
                if imp == "C":
                    fail("svrkit: package %s uses cgo, which svrkit_go_vendor does not support" % p.importpath)
                continue
            if imp not in known:
                if _is_std_path(imp):
                    continue
                fail("svrkit: package %s imports %s, which go list did not report (for %s)" % (p.importpath, imp, where))
            deps.append("//%s:%s" % (imp, imp.split("/")[-1]))
        lines = [
            "# Generated by svrkit_go_vendor from %s. Do not edit." % where,
            'load("@io_bazel_rules_go//go:def.bzl", "go_library")',
            "",
            "go_library(",
            "    name = %r," % p.importpath.split("/")[-1],
            "    srcs = %r," % sorted(p.srcs),
        ]
        if p.embeds:
            lines.append("    embedsrcs = %r," % sorted(p.embeds))
        lines += [
            "    importpath = %r," % p.importpath,
            '    visibility = ["//visibility:public"],',
            "    deps = %r," % sorted(deps),
            ")",
            "",
        ]
        rctx.file(p.importpath + "/BUILD.bazel", "\n".join(lines), executable = False)

    rctx.file("BUILD.bazel", "# Generated by svrkit_go_vendor from %s: one go_library per package directory.\n" % where, executable = False)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name, executable = False)

svrkit_go_vendor = repository_rule(
    implementation = _impl,
    doc = "The non-standard packages that `imports` need (transitively), vendored by the host go from a go.mod/go.sum, as go_library targets.",
    attrs = {
        "go_mod": attr.label(mandatory = True, allow_single_file = True, doc = "the go.mod whose require lines pin the versions"),
        "go_sum": attr.label(mandatory = True, allow_single_file = True, doc = "its go.sum; go checks every module against it"),
        "imports": attr.string_list(mandatory = True, doc = "the external packages to expose (and everything they import)"),
        "drop_modules": attr.string_list(doc = "modules to leave out of the synthetic go.mod (e.g. the replaced main module)"),
    },
    environ = GO_ENVIRON + ["GOFLAGS", "GOOS", "GOARCH"],
)
