"""svrkit_go_module: a third-party Go module as go_library targets, without gazelle.

The module is fetched with `go mod download` (sum-checked, see gomod.bzl). Each
directory holding non-test Go files becomes one go_library: the root package's
target is named after its Go package (e.g. `@com_github_go_ini_ini//:ini`),
others after their directory (e.g. `@com_github_golang_groupcache//consistenthash`).
Imports inside the module become deps; standard library imports need nothing;
any other import must be mapped in `deps`, or the rule fails naming it.
"""

load(":gomod.bzl", "GO_ENVIRON", "go_mod_download")

def _list_files(rctx):
    """Returns {relative dir ("" = root): [file names]}, skipping testdata, vendor, ., _ dirs."""
    res = rctx.execute([
        "find",
        ".",
        "-mindepth",
        "1",
        "(",
        "-name",
        "testdata",
        "-o",
        "-name",
        "vendor",
        "-o",
        "-name",
        ".*",
        "-o",
        "-name",
        "_*",
        ")",
        "-prune",
        "-o",
        "-type",
        "f",
        "-print",
    ])
    if res.return_code != 0:
        fail("svrkit: listing files of %s failed: %s" % (rctx.name, res.stderr))
    dirs = {}
    for line in res.stdout.strip().split("\n"):
        if not line.startswith("./"):
            continue
        rel = line[2:]
        i = rel.rfind("/")
        d, base = (rel[:i], rel[i + 1:]) if i >= 0 else ("", rel)
        dirs.setdefault(d, []).append(base)
    return dirs

def _strip_comment(line):
    i = line.find("//")
    return line[:i] if i >= 0 else line

def _quoted(line):
    i = line.find('"')
    if i < 0:
        i = line.find("`")
        if i < 0:
            return None
        j = line.find("`", i + 1)
    else:
        j = line.find('"', i + 1)
    if j < 0:
        return None
    return line[i + 1:j]

def _parse_go_file(text, where):
    """Returns (package name, [imports], ignored) from the header of a Go file."""
    pkg = None
    imports = []
    ignored = False
    in_block_comment = False
    in_imports = False
    for raw in text.split("\n"):
        line = raw.strip()
        if in_block_comment:
            if "*/" in line:
                in_block_comment = False
                line = line[line.find("*/") + 2:].strip()
            else:
                continue
        if pkg == None and (line.startswith("//go:build") or line.startswith("// +build")):
            if " ignore" in line and "!ignore" not in line:
                ignored = True
            continue
        if line.startswith("//go:embed"):
            fail("svrkit: %s uses //go:embed, which svrkit_go_module does not support" % where)
        if line.startswith("/*"):
            if "*/" not in line[2:]:
                in_block_comment = True
            continue
        line = _strip_comment(line).strip()
        if not line:
            continue
        if pkg == None:
            if line.startswith("package "):
                pkg = line[len("package "):].strip().split(" ")[0]
            continue
        if in_imports:
            if line.startswith(")"):
                in_imports = False
                continue
            q = _quoted(line)
            if q != None:
                imports.append(q)
            continue
        if line.startswith("import"):
            rest = line[len("import"):].strip()
            if rest.startswith("("):
                rest = rest[1:].strip()
                if rest.startswith(")"):
                    continue
                in_imports = True
                q = _quoted(rest) if rest else None
                if q != None:
                    imports.append(q)
                if rest.endswith(")"):
                    in_imports = False
                continue
            q = _quoted(rest)
            if q != None:
                imports.append(q)
            continue

        # First declaration after the imports: the header is over.
        break
    return pkg, imports, ignored

def _is_std(imp):
    first = imp.split("/")[0]
    return "." not in first

def _target_name(rel, pkg_name):
    return pkg_name if rel == "" else rel.split("/")[-1]

def _impl(rctx):
    module = rctx.attr.module
    go_mod_download(rctx, module, rctx.attr.version, rctx.attr.sum)

    # The module's own Bazel files (if any) would clash with ours.
    files = _list_files(rctx)
    for rel, bases in files.items():
        for base in bases:
            if base in ("BUILD", "BUILD.bazel", "WORKSPACE", "WORKSPACE.bazel"):
                rctx.delete((rel + "/" if rel else "") + base)

    # Pass 1: find the packages.
    packages = {}  # rel dir -> struct
    for rel in sorted(files.keys()):
        srcs = []
        names = {}
        imports = {}
        for base in sorted(files[rel]):
            if base.endswith(".s") or base.endswith(".h"):
                srcs.append(base)
                continue
            if not base.endswith(".go") or base.endswith("_test.go"):
                continue
            path = (rel + "/" if rel else "") + base
            pkg, imps, ignored = _parse_go_file(rctx.read(path), "%s@%s/%s" % (module, rctx.attr.version, path))
            if ignored or pkg == None:
                continue
            names[pkg] = True
            srcs.append(base)
            for imp in imps:
                imports[imp] = True
        go_srcs = [s for s in srcs if s.endswith(".go")]
        if not go_srcs:
            continue
        if len(names) != 1:
            fail("svrkit: %s@%s/%s mixes Go packages %s" % (module, rctx.attr.version, rel, sorted(names.keys())))
        pkg = names.keys()[0]
        if pkg == "main":
            continue
        packages[rel] = struct(pkg = pkg, srcs = srcs, imports = sorted(imports.keys()))

    wanted = rctx.attr.packages or sorted(packages.keys())
    for rel in wanted:
        if rel not in packages:
            fail("svrkit: %s@%s has no Go library package in directory %r (found: %s)" % (module, rctx.attr.version, rel, sorted(packages.keys())))

    # Pass 2: one BUILD file per wanted package.
    for rel in wanted:
        p = packages[rel]
        importpath = module + ("/" + rel if rel else "")
        deps = []
        for imp in p.imports:
            if imp == "C":
                fail("svrkit: %s uses cgo, which svrkit_go_module does not support" % importpath)
            if imp == module or imp.startswith(module + "/"):
                dep_rel = imp[len(module) + 1:] if imp != module else ""
                if dep_rel not in packages or dep_rel not in wanted:
                    fail("svrkit: %s imports %s, which is not among the packages of %s (add %r to packages)" % (importpath, imp, rctx.name, dep_rel))
                deps.append("//%s:%s" % (dep_rel, _target_name(dep_rel, packages[dep_rel].pkg)))
            elif _is_std(imp):
                continue
            elif imp in rctx.attr.deps:
                deps.append(rctx.attr.deps[imp])
            else:
                fail("svrkit: %s imports %s; map it to a label in the deps attribute of @%s" % (importpath, imp, rctx.name))
        build = "\n".join([
            "# Generated by svrkit_go_module for %s@%s. Do not edit." % (module, rctx.attr.version),
            'load("@io_bazel_rules_go//go:def.bzl", "go_library")',
            "",
            "go_library(",
            "    name = %r," % _target_name(rel, p.pkg),
            "    srcs = %r," % p.srcs,
            "    importpath = %r," % importpath,
            '    visibility = ["//visibility:public"],',
            "    deps = %r," % sorted(deps),
            ")",
            "",
        ])
        rctx.file((rel + "/" if rel else "") + "BUILD.bazel", build, executable = False)

    if not rctx.path("BUILD.bazel").exists:
        rctx.file("BUILD.bazel", "# Generated by svrkit_go_module.\n", executable = False)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name, executable = False)

svrkit_go_module = repository_rule(
    implementation = _impl,
    doc = "A Go module at a pinned version and h1 sum, as go_library targets.",
    attrs = {
        "module": attr.string(mandatory = True, doc = "module path"),
        "version": attr.string(mandatory = True),
        "sum": attr.string(mandatory = True, doc = "h1: sum, as in go.sum"),
        "packages": attr.string_list(doc = "package directories to expose (\"\" = module root); empty = all"),
        "deps": attr.string_dict(doc = "import path -> label, for imports outside the module and std"),
    },
    environ = GO_ENVIRON,
)
