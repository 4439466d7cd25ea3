"""svrkit_dependencies(): every external repository svrkit's Bazel build needs.

Offline and hermetic: nothing is downloaded by URL. rules_go and the Go
modules come through the Go module proxy with the host `go` command (pinned
version + h1 sum, as in go.sum), the Go SDK is a prepared copy of the host's
GOROOT, skylib/platforms/rules_java come from Debian packages, and rules_cc and
remote_coverage_tools are small local shims.

A WORKSPACE (svrkit's own or a consumer's) uses it in two stages:

    load("@svrkit//:deps.bzl", "svrkit_dependencies")
    svrkit_dependencies()
    load("@svrkit//:toolchains.bzl", "svrkit_toolchains")
    svrkit_toolchains()

A repository already declared under the same name is left alone, so a
workspace can override any of them by declaring it first.
"""

load("//bazel:go_module.bzl", "svrkit_go_module")
load("//bazel:go_vendor.bzl", "svrkit_go_vendor")
load("//bazel:go_sdk.bzl", "svrkit_host_go_sdk")
load("//bazel:local_repos.bzl", "svrkit_debian_repository", "svrkit_files_repository")
load("//bazel:rules_go.bzl", "svrkit_rules_go")

# Third-party Go modules: versions and sums must match go.mod / go.sum.
GO_MODULES = {
    "com_github_shamaton_msgpack_v2": struct(
        module = "github.com/shamaton/msgpack/v2",
        version = "v2.4.0",
        sum = "h1:O5Z08MRmbo0lA9o2xnQ4TXx6teJbPqEurqcCOQ8Oi/4=",
        packages = [],
    ),
    "com_github_golang_groupcache": struct(
        module = "github.com/golang/groupcache",
        version = "v0.0.0-20241129210726-2c02b8208cf8",
        sum = "h1:f+oWsMOmNPc8JmEHVZIycC7hBoQxHH9pNKQORJNozsQ=",
        # The other packages need protobuf; svrkit uses only the hash ring.
        packages = ["consistenthash"],
    ),
    "com_github_go_ini_ini": struct(
        module = "github.com/go-ini/ini",
        version = "v1.67.0",
        sum = "h1:z6ZrTEZqSWOTyH2FlglNbNgARyHG8oLW9gMELqKr06A=",
        packages = [],
    ),
    "org_uber_go_goleak": struct(
        module = "go.uber.org/goleak",
        version = "v1.3.0",
        sum = "h1:2K3zAYmnTNqV73imy9J1T3WC+gmCePx2hEGkimedGto=",
        packages = [],
    ),
}

RULES_GO_VERSION = "v0.34.0"
RULES_GO_SUM = "h1:cmObMtgIOaEU944SqXtJ9DnlS8IPGGa7pdRnsrpQzXM="

_RULES_CC_DEFS = '''"""Shim: rules_cc's public macros as Bazel 4.2.3's native rules."""
cc_binary = native.cc_binary
cc_import = native.cc_import
cc_library = native.cc_library
cc_proto_library = native.cc_proto_library
cc_shared_library = getattr(native, "cc_shared_library", None)
cc_test = native.cc_test
cc_toolchain = native.cc_toolchain
cc_toolchain_suite = native.cc_toolchain_suite
fdo_prefetch_hints = native.fdo_prefetch_hints
fdo_profile = native.fdo_profile
objc_import = native.objc_import
objc_library = native.objc_library
'''

_COVERAGE_BUILD = '''# Shim: offline stand-ins for Bazel's coverage tools (coverage is not supported).
sh_binary(
    name = "coverage_report_generator",
    srcs = ["unsupported.sh"],
    visibility = ["//visibility:public"],
)

sh_binary(
    name = "lcov_merger",
    srcs = ["unsupported.sh"],
    visibility = ["//visibility:public"],
)
'''

_COVERAGE_SH = '''#!/bin/sh
echo "svrkit: bazel coverage is not supported in the offline build (remote_coverage_tools is a shim)" >&2
exit 1
'''

def _maybe(rule, name, **kwargs):
    if name not in native.existing_rules():
        rule(name = name, **kwargs)

def svrkit_dependencies():
    """Declares rules_go, the host Go SDK copy, svrkit's Go modules and the Bazel shims."""
    _maybe(
        svrkit_rules_go,
        name = "io_bazel_rules_go",
        version = RULES_GO_VERSION,
        sum = RULES_GO_SUM,
    )
    _maybe(svrkit_host_go_sdk, name = "svrkit_host_go_sdk")

    for name, m in GO_MODULES.items():
        _maybe(
            svrkit_go_module,
            name = name,
            module = m.module,
            version = m.version,
            sum = m.sum,
            packages = m.packages,
        )

    # The etcd client (and gRPC) for //etcd, vendored from etcd/go.mod and go.sum (pinned by
    # their h1 sums). Declared for consumer workspaces too, but fetched only by a build that
    # depends on @svrkit//etcd: services without a [registry] never download it.
    _maybe(
        svrkit_go_vendor,
        name = "svrkit_etcd_deps",
        drop_modules = ["github.com/svrkit/svrkit"],
        go_mod = Label("//etcd:go.mod"),
        go_sum = Label("//etcd:go.sum"),
        imports = [
            "go.etcd.io/etcd/client/v3",
            "go.uber.org/zap",
        ],
    )

    _maybe(svrkit_debian_repository, name = "bazel_skylib", package = "bazel-skylib")
    _maybe(svrkit_debian_repository, name = "platforms", package = "bazel-platforms")
    _maybe(svrkit_debian_repository, name = "rules_java", package = "bazel-rules-java")

    # Debian's bazel-rules-cc does not load on Bazel 4.2.3 (no use_cpp_toolchain).
    _maybe(
        svrkit_files_repository,
        name = "rules_cc",
        files = {
            "BUILD.bazel": "",
            "cc/BUILD.bazel": 'exports_files(["defs.bzl"])\n',
            "cc/defs.bzl": _RULES_CC_DEFS,
        },
    )

    # Without these, `bazel test` downloads coverage_output_generator.
    _maybe(
        svrkit_files_repository,
        name = "remote_coverage_tools",
        files = {
            "BUILD.bazel": _COVERAGE_BUILD,
            "unsupported.sh": _COVERAGE_SH,
        },
        executables = ["unsupported.sh"],
    )
