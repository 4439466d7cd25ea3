// Command svrkit generates a svrkit service from a JSON IDL.
//
//	svrkit gen -f svr.json -d out [-importpath P] [-force] [-generated-only] [-quiet]
//	           [-app name] [-handlers file.go...]
//	svrkit check -f svr.json
//
// gen writes the files described in docs/IDL.md into out; -importpath is the Go import
// path of out (default: derived from the nearest go.mod). User handler files are
// create-once: gen writes a stub only for a handler that the Go files in out do not
// define yet (a new API gets its own <app>_rpc_<api>_handler.go), and never overwrites
// one unless -force; -generated-only skips them entirely (build rules); -quiet does not
// list the files written. -app and -handlers are for build rules: fail clearly when the
// IDL's app is not name, or when the given Go files lack a handler. check only validates. Errors go to stderr, all at once; the
// exit status is 0 on success, 1 on IDL or write errors, 2 on usage errors.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/svrkit/svrkit/gen"
	"github.com/svrkit/svrkit/gen/idl"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  svrkit gen -f svr.json -d out [-importpath P] [-force] [-generated-only] [-quiet] [-app name] [-handlers file.go...]
  svrkit check -f svr.json
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "gen" && args[0] != "check") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("svrkit "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "the IDL file `svr.json` (required)")
	var dir, importPath, wantApp, svrkitDir *string
	var force, generatedOnly, quiet, handlers *bool
	if cmd == "gen" {
		dir = fs.String("d", "", "output `directory` (required)")
		importPath = fs.String("importpath", "", "Go import `path` of the output directory (default: from the nearest go.mod)")
		force = fs.Bool("force", false, "also overwrite existing user handler files")
		generatedOnly = fs.Bool("generated-only", false, "write only the files svrkit owns, never the user handler files (for build rules)")
		quiet = fs.Bool("quiet", false, "do not list the files written")
		wantApp = fs.String("app", "", "fail unless the IDL's app is `name` (build rules name their outputs by it)")
		svrkitDir = fs.String("svrkit", "", "the svrkit checkout a new go.mod points at (default: the one svrkit was built from)")
		handlers = fs.Bool("handlers", false, "the arguments are the user's Go files: fail, naming each, when a handler the IDL needs is in none of them (build rules)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *file == "" || (fs.NArg() > 0 && (cmd != "gen" || !*handlers)) || (cmd == "gen" && *dir == "") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	spec, err := idl.ParseFile(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range spec.Warnings {
		fmt.Fprintf(stderr, "warning: %v\n", w)
	}
	if cmd == "check" {
		fmt.Fprintf(stdout, "%s: ok\n", *file)
		return 0
	}
	if *wantApp != "" && spec.App != *wantApp {
		fmt.Fprintf(stderr, "%s: the IDL's app is %q, but the build rule expects %q: set name = %q in svrkit_service, or app = %q\n",
			*file, spec.App, *wantApp, spec.App, spec.App)
		return 1
	}
	if defined, ok := gen.DefinedFuncs(fs.Args()); *handlers && ok {
		// (When a file does not parse, the compiler reports it better.)
		bad := false
		for _, h := range gen.Handlers(spec) {
			if !defined[h.Func] {
				fmt.Fprintf(stderr, "%s: %s has no handler: func %s is in none of the srcs; run `svrkit gen -f %s -d <this package's source directory>` to write its stub into %s, and add that file to srcs\n",
					*file, h.What, h.Func, *file, h.File)
				bad = true
			}
		}
		if bad {
			return 1
		}
	}
	ip := *importPath
	var gomod *gen.File
	if ip == "" {
		if ip, err = gen.ImportPathFor(*dir); err != nil {
			// No module yet: a create-once go.mod makes dir the module named app,
			// with svrkit from the local checkout (svrkit is not on the module proxy).
			root := *svrkitDir
			if root == "" {
				root = checkoutDir()
			}
			f, gerr := gen.GoMod(spec.App, root)
			if gerr != nil {
				fmt.Fprintf(stderr, "%v\n%v (or pass -svrkit with the path of the svrkit checkout)\n", err, gerr)
				return 1
			}
			gomod, ip = &f, spec.App
		}
	}
	opts := gen.Options{ImportPath: ip}
	if !*generatedOnly && !*force {
		// Stubs only for the handlers the user's files in dir do not define yet.
		user, err := gen.UserGoFiles(*dir)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if len(user) > 0 {
			var ok bool
			if opts.Defined, ok = gen.DefinedFuncs(user); !ok {
				// Stubs could repeat what the broken file declares: write none.
				fmt.Fprintf(stderr, "warning: a Go file in %s does not parse, so no handler stubs are written (fix it and run gen again)\n", *dir)
				*generatedOnly = true
			}
		}
	}
	files, err := gen.Generate(spec, opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if gomod != nil {
		files = append(files, *gomod)
	}
	if *generatedOnly {
		owned := files[:0]
		for _, f := range files {
			if !f.User {
				owned = append(owned, f)
			}
		}
		files = owned
	}
	if !*generatedOnly {
		removeStale(*dir, spec.App, stdout)
	}
	wrote, err := gen.Write(*dir, files, gen.WriteOptions{Force: *force, Log: stderr})
	for _, p := range wrote {
		if !*quiet {
			fmt.Fprintf(stdout, "wrote %s\n", p)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if gomod != nil && !*quiet {
		fmt.Fprintf(stdout, "\nnext, in %s:\n  go mod tidy\n  go build -o %s_svr .\nthen ./%s start, go test, ./%s stop\n", *dir, spec.App, spec.App, spec.App)
	}
	return 0
}

// removeStale removes <app>_self_handler.go when svrkit generated it (earlier versions
// wrote the custom dispatch table there; it is now in <app>_svr.go). A file of the user's,
// or a symlink, is left alone.
func removeStale(dir, app string, log io.Writer) {
	p := filepath.Join(dir, app+"_self_handler.go")
	if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
		return
	}
	data, err := os.ReadFile(p)
	if err == nil && strings.HasPrefix(string(data), gen.Header+"\n") && os.Remove(p) == nil {
		fmt.Fprintf(log, "removed %s (generated by an earlier svrkit; the self handler table is in %s_svr.go now)\n", p, app)
	}
}

// checkoutDir is the svrkit checkout this command was built from ("" when unknown, as
// with go build -trimpath): its source file lies at gen/cmd/svrkit/main.go in it.
func checkoutDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(file))))
}
