"""Fetching Go modules with the host `go` command (private to svrkit).

The Go module proxy is the only package source this build uses: rules_go and
the third-party Go modules both come through `go mod download`, which also
fills the host module cache so a second fetch needs no network.
"""

# Environment variables that change what `go mod download` returns.
GO_ENVIRON = ["PATH", "HOME", "GOPATH", "GOMODCACHE", "GOPROXY", "GONOSUMDB", "GOSUMDB", "GOPRIVATE", "GOINSECURE"]

def find_go(rctx, what):
    """Returns the path of the host `go`, or fails with one clear line."""
    go = rctx.which("go")
    if not go:
        fail("svrkit: %s needs the host Go command, but no 'go' is on PATH (install Go >= 1.26; tools/bazel checks this)" % what)
    return go

def go_mod_download(rctx, module, version, sum):
    """Downloads module@version, checks its h1 sum, extracts it into the repository root.

    Args:
      rctx: the repository_ctx.
      module: module path, e.g. "github.com/go-ini/ini".
      version: module version, e.g. "v1.67.0".
      sum: the expected h1: sum (go.sum's value for module@version).
    """
    go = find_go(rctx, "fetching %s@%s" % (module, version))
    rctx.report_progress("go mod download %s@%s" % (module, version))

    # An empty directory with no go.mod: the download is independent of any
    # module the user happens to be in.
    rctx.file("_svrkit_gomod/.empty", "")
    res = rctx.execute(
        [go, "mod", "download", "-json", "%s@%s" % (module, version)],
        working_directory = str(rctx.path("_svrkit_gomod")),
        environment = {
            "GOFLAGS": "-mod=mod",
            "GOWORK": "off",
            "GO111MODULE": "on",
            "GOTOOLCHAIN": "local",
        },
        timeout = 900,
    )
    info = None
    if res.stdout.strip().startswith("{"):
        info = json.decode(res.stdout)
    if res.return_code != 0 or info == None or info.get("Error"):
        why = (info or {}).get("Error") or (res.stderr.strip() or res.stdout.strip())
        fail("svrkit: cannot download Go module %s@%s through the Go module proxy: %s" % (module, version, why))
    if info.get("Sum") != sum:
        fail("svrkit: checksum mismatch for Go module %s@%s: pinned %s, downloaded %s" % (module, version, sum, info.get("Sum")))
    rctx.delete("_svrkit_gomod")
    rctx.extract(info["Zip"], stripPrefix = "%s@%s" % (module, version))
