"""svrkit_toolchains(): the second WORKSPACE stage, after svrkit_dependencies().

It loads rules_go (declared by the first stage), so it must be in its own
file: go_rules_dependencies() (declares, never fetches for plain Go builds),
the host SDK copy as @go_sdk through go_wrap_sdk, and the Go toolchains.
"""

load("@io_bazel_rules_go//go:deps.bzl", "go_register_toolchains", "go_rules_dependencies", "go_wrap_sdk")

def svrkit_toolchains():
    """Registers the Go toolchain built on the host Go SDK copy."""
    go_rules_dependencies()
    if "go_sdk" not in native.existing_rules():
        go_wrap_sdk(
            name = "go_sdk",
            root_file = Label("@svrkit_host_go_sdk//:ROOT"),
        )
    go_register_toolchains()
