"""svrkit_rules_go: rules_go from the Go module proxy, patched for Go >= 1.26."""

load(":gomod.bzl", "GO_ENVIRON", "go_mod_download")

# rules_go v0.34 builds its builder with `go tool compile` but without the
# package path flag that Go >= 1.26 requires for package main.
# It also runs `go tool asm -gensymabis` without -p: the symbol ABIs then name
# no package, the compiler makes no ABI wrappers for Go declarations of
# assembly functions, and linking fails (golang.org/x/sys/unix:
# "unix.Syscall6 not defined for ABIInternal (but is defined for ABI0)").
_PATCHES = {
    "go/private/rules/binary.bzl": [
        ("{go} tool compile -o {cout}", "{go} tool compile -p main -o {cout}"),
    ],
    "go/tools/builders/asm.go": [
        (
            "func buildSymabisFile(goenv *env, sFiles, hFiles []fileInfo, asmhdr string) (string, error) {",
            "func buildSymabisFile(goenv *env, packagePath string, sFiles, hFiles []fileInfo, asmhdr string) (string, error) {",
        ),
        (
            'asmargs = append(asmargs, "-gensymabis", "-o", symabisName, "--")',
            'if packagePath != "" {\n\t\tasmargs = append(asmargs, "-p", packagePath)\n\t}\n\tasmargs = append(asmargs, "-gensymabis", "-o", symabisName, "--")',
        ),
    ],
    "go/tools/builders/compilepkg.go": [
        ("buildSymabisFile(goenv, srcs.sSrcs,", "buildSymabisFile(goenv, packagePath, srcs.sSrcs,"),
    ],
    "go/tools/builders/compile.go": [
        ("buildSymabisFile(goenv, sFiles,", "buildSymabisFile(goenv, *packagePath, sFiles,"),
    ],
}

def _impl(rctx):
    go_mod_download(rctx, "github.com/bazelbuild/rules_go", rctx.attr.version, rctx.attr.sum)
    for path, edits in _PATCHES.items():
        text = rctx.read(path)
        for old, new in edits:
            if old not in text:
                fail("svrkit: cannot patch rules_go %s: %r not found in %s" % (rctx.attr.version, old, path))
            text = text.replace(old, new)
        rctx.file(path, text, executable = False)

svrkit_rules_go = repository_rule(
    implementation = _impl,
    doc = "rules_go at a pinned version and module sum, fetched with `go mod download`.",
    attrs = {
        "version": attr.string(mandatory = True),
        "sum": attr.string(mandatory = True, doc = "h1: module sum"),
    },
    environ = GO_ENVIRON,
)
