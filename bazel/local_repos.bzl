"""Small local repositories Bazel 4.2.3 needs offline (private to svrkit).

svrkit_files_repository writes a repository from inline files (the rules_cc
and remote_coverage_tools shims). svrkit_debian_repository exposes a rule set
installed by a Debian package (bazel-skylib, bazel-platforms, bazel-rules-java),
found through `dpkg -L`, so no machine path is written in the workspace.
"""

def _files_impl(rctx):
    for path, content in rctx.attr.files.items():
        rctx.file(path, content, executable = path in rctx.attr.executables)
    if "WORKSPACE" not in rctx.attr.files:
        rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name, executable = False)

svrkit_files_repository = repository_rule(
    implementation = _files_impl,
    doc = "A repository made of the given files.",
    attrs = {
        "files": attr.string_dict(mandatory = True, doc = "path -> content"),
        "executables": attr.string_list(doc = "paths to mark executable"),
    },
)

def _debian_impl(rctx):
    pkg = rctx.attr.package
    dpkg = rctx.which("dpkg")
    if not dpkg:
        fail("svrkit: @%s comes from the Debian package %s, but this is not a Debian system (no dpkg)" % (rctx.name, pkg))
    res = rctx.execute([dpkg, "-L", pkg])
    if res.return_code != 0:
        fail("svrkit: @%s needs the Debian package %s: run tools/bazel (it installs it) or apt-get install %s" % (rctx.name, pkg, pkg))

    # The package's repository root is the shallowest directory with a WORKSPACE file.
    root = None
    for line in res.stdout.split("\n"):
        line = line.strip()
        if line.endswith("/WORKSPACE") or line.endswith("/WORKSPACE.bazel"):
            d = line[:line.rfind("/")]
            if root == None or len(d) < len(root):
                root = d
    if root == None:
        fail("svrkit: Debian package %s has no WORKSPACE file; cannot use it as @%s" % (pkg, rctx.name))
    for entry in rctx.path(root).readdir():
        if entry.basename in ("WORKSPACE", "WORKSPACE.bazel"):
            continue
        rctx.symlink(entry, entry.basename)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name, executable = False)

svrkit_debian_repository = repository_rule(
    implementation = _debian_impl,
    doc = "The Bazel repository shipped by a Debian package (found with dpkg -L).",
    attrs = {
        "package": attr.string(mandatory = True, doc = "Debian package name"),
    },
)
