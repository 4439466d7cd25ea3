// Package faults holds svrkit's fault-injection suite (all of it in the tests): it runs a
// real service binary (the test binary re-executed as a service.Main app) on loopback and
// kills workers, restarts servers behind a router, restarts gracefully under load, stalls
// handlers, sends hostile input and bad configs, and counts what callers saw.
//
// Quick profile (default, `bazel test //tools/faults:faults_test` or `go test ./tools/faults`);
// long profile: `go test ./tools/faults -faults.long` or SVRKIT_FAULTS=long. The figures of
// both are in docs/RELIABILITY.md.
package faults
