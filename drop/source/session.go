package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"cleandrop/drop/receipt"
	"cleandrop/drop/web"
)

// setNotice keeps a message, and what the files of an answer became, for
// the session's next case page.
func (h *handler) setNotice(r *http.Request, flash string, files []fileNote) {
	h.sessions.Update(r, func(s *reporter) *reporter {
		c := *s
		c.flash, c.files = flash, files
		return &c
	})
}

// takeNotice returns the message and files kept for this page and
// forgets them; s is the session as the request found it, and a page with
// nothing to show writes nothing.
func (h *handler) takeNotice(r *http.Request, s *reporter) (string, []fileNote) {
	if s.flash == "" && s.files == nil {
		return "", nil
	}
	var flash string
	var files []fileNote
	h.sessions.Update(r, func(s *reporter) *reporter {
		c := *s
		flash, files = c.flash, c.files
		c.flash, c.files = "", nil
		return &c
	})
	return flash, files
}

// reporterWire is a reporter as a shared session stores it, sealed
// under the key its cookie gives (see [web.NewSharedSessions]).
type reporterWire struct {
	Ref   string     `json:"r"`
	Reply string     `json:"k"` // the reply identity, AGE-SECRET-KEY-…
	Flash string     `json:"f,omitempty"`
	Files []fileNote `json:"n,omitempty"`
}

var reporterCodec = web.Codec[*reporter]{
	Encode: func(s *reporter) ([]byte, error) {
		id, ok := s.reply.(fmt.Stringer)
		if !ok {
			return nil, errors.New("source: a reply identity that cannot be written")
		}
		return json.Marshal(reporterWire{Ref: s.ref, Reply: id.String(), Flash: s.flash, Files: s.files})
	},
	Decode: func(b []byte) (*reporter, error) {
		var w reporterWire
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, err
		}
		id, err := receipt.ParseReplyIdentity(w.Reply)
		if err != nil {
			return nil, err
		}
		return &reporter{ref: w.Ref, reply: id, flash: w.Flash, files: w.Files}, nil
	},
}
