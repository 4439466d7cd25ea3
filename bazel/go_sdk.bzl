"""svrkit_host_go_sdk: a rules_go-ready copy of the host Go installation.

rules_go v0.34 expects what Go SDKs shipped before Go 1.20: precompiled
standard library archives in pkg/<goos>_<goarch>/ and the `pack` tool. This
rule finds the host GOROOT with `go env GOROOT`, copies bin/ and pkg/ (real
copies: a symlinked bin/go would report the host GOROOT), symlinks the rest,
runs `go install std` into the copy and builds `pack`. The repository's
`ROOT` file is the root_file for rules_go's go_wrap_sdk.
"""

_COPIED = ["bin", "pkg"]

def _exec(rctx, args, what, env = {}):
    e = {
        "GOFLAGS": "",
        "GOWORK": "off",
        "GOTOOLCHAIN": "local",
        "GOROOT": "",
        "GOENV": "off",
    }
    e.update(env)
    res = rctx.execute(args, environment = e, timeout = 1800)
    if res.return_code != 0:
        fail("svrkit: %s failed (exit %d): %s" % (what, res.return_code, (res.stderr or res.stdout).strip()))
    return res.stdout

def _version_ok(version, minimum):
    # "go1.26.8" / "go1.26rc1" -> (1, 26)
    v = version[2:] if version.startswith("go") else version
    parts = []
    for p in v.split(".")[:2]:
        digits = ""
        for c in p.elems():
            if not c.isdigit():
                break
            digits += c
        if not digits:
            return False
        parts.append(int(digits))
    if len(parts) < 2:
        return False
    return parts[0] > minimum[0] or (parts[0] == minimum[0] and parts[1] >= minimum[1])

def _impl(rctx):
    go = rctx.which("go")
    if not go:
        fail("svrkit: the Go SDK comes from the host, but no 'go' is on PATH (install Go >= 1.26; tools/bazel checks this)")
    out = _exec(rctx, [go, "env", "GOROOT", "GOVERSION", "GOHOSTOS", "GOHOSTARCH"], "go env")
    lines = out.strip().split("\n")
    if len(lines) != 4:
        fail("svrkit: unexpected `go env` output: %r" % out)
    goroot, version, goos, goarch = lines
    minimum = [int(x) for x in rctx.attr.min_version.split(".")]
    if not _version_ok(version, minimum):
        fail("svrkit: host Go is %s at %s; svrkit needs go%s or newer" % (version, goroot, rctx.attr.min_version))

    rctx.report_progress("copying the host Go SDK (%s)" % version)
    for entry in rctx.path(goroot).readdir():
        name = entry.basename
        if name in _COPIED:
            _exec(rctx, ["cp", "-R", str(entry), name], "copying %s" % entry)
        else:
            rctx.symlink(entry, name)

    gobin = str(rctx.path("bin/go"))
    env = {"GODEBUG": "installgoroot=all"}
    rctx.report_progress("go install std (%s, once per output base)" % version)
    _exec(rctx, [gobin, "install", "std"], "go install std in the GOROOT copy", env)

    tooldir = "pkg/tool/%s_%s" % (goos, goarch)
    if not rctx.path(tooldir + "/pack").exists:
        rctx.report_progress("go build cmd/pack")
        _exec(rctx, [gobin, "build", "-o", str(rctx.path(tooldir + "/pack")), "cmd/pack"], "building cmd/pack", env)

    # Sanity: the copy must report itself as GOROOT (not the host's).
    got = _exec(rctx, [gobin, "env", "GOROOT"], "go env GOROOT in the copy").strip()
    if got != str(rctx.path(".")) and rctx.path(got) != rctx.path("."):
        fail("svrkit: the GOROOT copy reports GOROOT=%s, expected %s" % (got, rctx.path(".")))

    rctx.file("ROOT", "%s copied from %s\n" % (version, goroot), executable = False)
    rctx.file("BUILD.bazel", 'exports_files(["ROOT"])\n', executable = False)

svrkit_host_go_sdk = repository_rule(
    implementation = _impl,
    doc = "A copy of the host GOROOT with std precompiled and `pack` built, for go_wrap_sdk.",
    attrs = {
        "min_version": attr.string(default = "1.26", doc = "oldest acceptable host Go, major.minor"),
    },
    environ = ["PATH", "CGO_ENABLED"],
)
