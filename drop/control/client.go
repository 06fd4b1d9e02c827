package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Client talks to a running server over its control socket.
type Client struct {
	socket string
	hc     *http.Client
}

// ErrNotRunning means nothing answers on the control socket.
var ErrNotRunning = errors.New("the server is not running")

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{socket: path, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
}

// Error is an error the server reported, with its hint.
type Error struct {
	Status    int
	Msg, Hint string
}

func (e *Error) Error() string { return e.Msg }

func (c *Client) do(method, path, ctype string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, "http://cleandrop"+path, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.dialErr(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, answerErr(resp)
	}
	return resp, nil
}

// dialErr is [ErrNotRunning] for an error of dialling the socket.
func (c *Client) dialErr(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("%w (no answer on %s)", ErrNotRunning, c.socket)
	}
	return err
}

// answerErr reads and closes an error answer.
func answerErr(resp *http.Response) error {
	defer resp.Body.Close()
	var e apiError
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e) != nil || e.Error == "" {
		e.Error = resp.Status
	}
	return &Error{Status: resp.StatusCode, Msg: e.Error, Hint: e.Hint}
}

func (c *Client) json(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.do(method, path, "application/json", body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

func casePath(ref string) string { return "/v1/cases/" + url.PathEscape(strings.TrimSpace(ref)) }

// Cases lists every case.
func (c *Client) Cases() ([]CaseInfo, error) {
	var out []CaseInfo
	err := c.json(http.MethodGet, "/v1/cases/", nil, &out)
	return out, err
}

// Case returns one case.
func (c *Client) Case(ref string) (CaseInfo, error) {
	var out CaseInfo
	err := c.json(http.MethodGet, casePath(ref)+"/", nil, &out)
	return out, err
}

// Export writes a case's bundle to w.
func (c *Client) Export(ref string, w io.Writer) error {
	resp, err := c.do(http.MethodGet, casePath(ref)+"/export", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// A megabyte per read and write instead of io.Copy's 32 KiB (an
	// *os.File's ReadFrom would copy in 32 KiB too): a bundle of a large
	// case then costs a fraction of the system calls.
	if _, err := io.CopyBuffer(writerOnly{w}, resp.Body, make([]byte, 1<<20)); err != nil {
		return fmt.Errorf("export cut short: %w", err)
	}
	return nil
}

// ExportFile has the server write a case's bundle into f, a new, empty
// file open for reading and writing (reading lets the server check what
// the file holds): f's descriptor is handed to the server, and the bundle
// never crosses the socket. The caller syncs and closes f.
func (c *Client) ExportFile(ref string, f *os.File) error {
	conn, br, err := c.startExportFile(ref)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, _, err := conn.WriteMsgUnix([]byte{0}, unix.UnixRights(int(f.Fd())), nil); err != nil {
		return fmt.Errorf("hand the file to the server: %w", err)
	}
	var res fileResult
	if err := json.NewDecoder(br).Decode(&res); err != nil {
		return fmt.Errorf("export cut short: %w", err)
	}
	if res.Error != "" {
		return &Error{Status: res.Status, Msg: res.Error, Hint: res.Hint}
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != res.Bytes {
		return fmt.Errorf("export cut short: the server wrote %d bytes, the file holds %d", res.Bytes, fi.Size())
	}
	return nil
}

// startExportFile opens the export-file exchange for case ref: the
// connection once the server has answered 101, and a reader of what it
// sends next; or the server's error answer.
func (c *Client) startExportFile(ref string) (*net.UnixConn, *bufio.Reader, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: c.socket, Net: "unix"})
	if err != nil {
		return nil, nil, c.dialErr(err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://cleandrop"+casePath(ref)+"/export-file", nil)
	if err == nil {
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", fileUpgrade)
		err = req.Write(conn)
	}
	var resp *http.Response
	br := bufio.NewReader(conn)
	if err == nil {
		resp, err = http.ReadResponse(br, req)
	}
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		err = answerErr(resp)
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, br, nil
}

// writerOnly hides any ReadFrom of its writer, so that io.CopyBuffer uses
// the buffer it is given.
type writerOnly struct{ io.Writer }

// Ask seals an officer's question into a case.
func (c *Client) Ask(ref string, text []byte) error {
	resp, err := c.do(http.MethodPost, casePath(ref)+"/questions", "text/plain; charset=utf-8", bytes.NewReader(text))
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// SetStage moves a case to a stage, with an optional sealed note.
func (c *Client) SetStage(ref string, sc StageChange) error {
	var out Added
	return c.json(http.MethodPost, casePath(ref)+"/stage", sc, &out)
}

// Audit returns the audit log's entries, newest first: those of case ref,
// or all when ref is "", at most limit (0: the server's ceiling).
func (c *Client) Audit(ref string, limit int) ([]AuditEntry, error) {
	q := url.Values{}
	if ref = strings.TrimSpace(ref); ref != "" {
		q.Set("case", ref)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/audit"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out []AuditEntry
	err := c.json(http.MethodGet, path, nil, &out)
	return out, err
}

// VerifyAudit has the server check its whole audit log and returns the
// number of entries; a broken log gives an [*Error] with status 409.
func (c *Client) VerifyAudit() (int64, error) {
	var out AuditCount
	err := c.json(http.MethodGet, "/v1/audit/verify", nil, &out)
	return out.Entries, err
}

// NewToken makes a bearer token for the desk's JSON API for an officer.
func (c *Client) NewToken(name, label string) (NewToken, error) {
	var out NewToken
	err := c.json(http.MethodPost, officerPath(name)+"/tokens", TokenRequest{Label: label}, &out)
	return out, err
}

// Backup writes the server's sealed backup to w. An error means the
// backup is incomplete.
func (c *Client) Backup(w io.Writer) error {
	resp, err := c.do(http.MethodPost, "/v1/backup", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("backup cut short: %w", err)
	}
	return nil
}
