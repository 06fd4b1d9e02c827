// Command cleandrop runs and administers a cleandrop whistleblower drop.
//
//	cleandrop demo     [--data DIR] [--listen ADDR] [--no-tor] [--jurisdiction CODE]
//	cleandrop serve    --config FILE [--no-tor]
//	cleandrop cases    [--data DIR | --config FILE]
//	cleandrop export   --case REF -o FILE [--data DIR | --config FILE]
//	cleandrop reply    --case REF --text-file FILE [--data DIR | --config FILE]
//	cleandrop stage    --case REF [--note-file FILE] STAGE [--data DIR | --config FILE]
//	cleandrop open     BUNDLE -i IDENTITY --signer KEY.asc -o DIR
//	cleandrop refer    BUNDLE -i IDENTITY --signer KEY.asc --agency ID --to RECIPIENTS -o OUT
//	cleandrop backup   -o FILE [--data DIR | --config FILE]
//	cleandrop restore  BACKUP -i KEY [--signer KEY.asc] --data DIR
//	cleandrop signing-key [--data DIR | --config FILE]
//	cleandrop keygen   [--pq] [-o FILE]
//	cleandrop check    --config FILE
//	cleandrop onionbalance-config --key FILE --instance ADDR...
//	cleandrop pack     list | check CODE|DIR
//	cleandrop guide    --jurisdiction CODE [--lang L] [FILE]
//	cleandrop officer  add | list | revoke | notify ...
//	cleandrop audit    verify
//	cleandrop audit    show [--case REF] [--limit N]
//
// Errors are printed as "cleandrop: error: ..." with a hint line, exit 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `Usage:
  cleandrop demo    [--data DIR] [--listen ADDR] [--no-tor] [--jurisdiction CODE]
                                                              try the drop with demo agencies (and training cases)
  cleandrop serve   --config FILE [--no-tor]                  run the drop
  cleandrop cases                                             list cases
  cleandrop export  --case REF -o FILE                        export a case's sealed bundle
  cleandrop reply   --case REF --text-file FILE               ask the reporter a question
  cleandrop stage   --case REF [--note-file FILE] STAGE       move a case to a stage
  cleandrop open    BUNDLE -i IDENTITY --signer KEY.asc -o DIR
                                                              check and decrypt a bundle (offline machine)
  cleandrop refer   BUNDLE -i IDENTITY --signer KEY.asc --agency ID --to KEYS -o OUT
                                                              re-seal a case for another agency (offline machine)
  cleandrop backup  -o FILE                                   write a sealed backup of the running drop
  cleandrop restore BACKUP -i KEY [--signer KEY.asc] --data DIR
                                                              check a backup and rebuild a data directory from it
  cleandrop signing-key                                       print the public key that signs exports
  cleandrop keygen  [--pq] [-o FILE]                          make an officer age key (offline machine)
  cleandrop check   --config FILE                             check a configuration
  cleandrop onionbalance-config --key FILE --instance ADDR [--instance ADDR]...
                                                              make the master onion key, print Onionbalance's YAML
  cleandrop pack    list | check CODE|DIR                     list the jurisdiction packs, check one
  cleandrop guide   --jurisdiction CODE [--lang L] [FILE]     suggest categories, body and template for a draft
  cleandrop officer add --agency ID --name NAME [--role supervisor|overseer|custodian] | list | revoke NAME
                                                              manage officer accounts
  cleandrop officer notify NAME --email ADDR --key FILE.asc | --off | --send-now
                                                              an officer's daily digest by e-mail
  cleandrop audit verify                                      check the audit log's hash chain
  cleandrop audit show [--case REF] [--limit N]               print the audit log's entries

The commands that talk to a running server take --data DIR (default
./cleandrop-data) or --config FILE to find its control socket.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// hinted is an error with advice for the user.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

func hint(err error, advice string) error { return &hinted{err: err, hint: advice} }

// errUsage means the command line was wrong; usage has been printed.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) error{
		"demo":                cmdDemo,
		"serve":               cmdServe,
		"cases":               cmdCases,
		"export":              cmdExport,
		"reply":               cmdReply,
		"stage":               cmdStage,
		"open":                cmdOpen,
		"refer":               cmdRefer,
		"signing-key":         cmdSigningKey,
		"keygen":              cmdKeygen,
		"check":               cmdCheck,
		"onionbalance-config": cmdOnionbalanceConfig,
		"pack":                cmdPack,
		"guide":               cmdGuide,
		"officer":             cmdOfficer,
		"audit":               cmdAudit,
		"backup":              cmdBackup,
		"restore":             cmdRestore,
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "cleandrop: error: unknown command %q\n", name)
		fmt.Fprint(stderr, usage)
		return 2
	}
	err := cmd(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	}
	fmt.Fprintf(stderr, "cleandrop: error: %v\n", err)
	var h *hinted
	if errors.As(err, &h) && h.hint != "" {
		fmt.Fprintf(stderr, "cleandrop: hint: %s\n", h.hint)
	}
	return 1
}

// parse parses flags that may come before or after positional arguments
// ("open BUNDLE -i KEY -o DIR") and returns the positionals.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func usageErr(fs *flag.FlagSet, stderr io.Writer, msg string) error {
	fmt.Fprintf(stderr, "cleandrop %s: %s\n", fs.Name(), msg)
	fs.PrintDefaults()
	return errUsage
}

func trimRef(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
