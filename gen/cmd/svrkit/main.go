// Command svrkit generates a svrkit service from a JSON IDL.
//
//	svrkit gen -f svr.json -d out [-importpath P] [-force] [-generated-only] [-quiet]
//	svrkit check -f svr.json
//
// gen writes the files described in docs/IDL.md into out; -importpath is the Go import
// path of out (default: derived from the nearest go.mod). User handler files that exist
// are kept unless -force; -generated-only skips them entirely (build rules); -quiet does
// not list the files written. check only validates. Errors go to stderr, all at once; the
// exit status is 0 on success, 1 on IDL or write errors, 2 on usage errors.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/svrkit/svrkit/gen"
	"github.com/svrkit/svrkit/gen/idl"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  svrkit gen -f svr.json -d out [-importpath P] [-force] [-generated-only] [-quiet]
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
	var dir, importPath *string
	var force, generatedOnly, quiet *bool
	if cmd == "gen" {
		dir = fs.String("d", "", "output `directory` (required)")
		importPath = fs.String("importpath", "", "Go import `path` of the output directory (default: from the nearest go.mod)")
		force = fs.Bool("force", false, "also overwrite existing user handler files")
		generatedOnly = fs.Bool("generated-only", false, "write only the files svrkit owns, never the user handler files (for build rules)")
		quiet = fs.Bool("quiet", false, "do not list the files written")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *file == "" || fs.NArg() > 0 || (cmd == "gen" && *dir == "") {
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
	ip := *importPath
	if ip == "" {
		if ip, err = gen.ImportPathFor(*dir); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	files, err := gen.Generate(spec, gen.Options{ImportPath: ip})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
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
	return 0
}
