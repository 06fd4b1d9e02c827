package vault

import "errors"

// Post commits one officer action on case ref in a batch of its own: a
// change to stage (none when stage is "") and, when text is not empty, an
// item of kind holding it, sealed like every item (questions and notes
// also to the reporter's reply key).
func (s *Store) Post(ref, stage string, kind Kind, text []byte) error {
	if stage == "" && len(text) == 0 {
		return errors.New("vault: nothing to post")
	}
	b, err := s.Append(ref)
	if err != nil {
		return err
	}
	defer b.Abort()
	if stage != "" {
		b.SetStage(stage)
	}
	if len(text) > 0 {
		wc, err := b.Add(kind, "")
		if err != nil {
			return err
		}
		if _, err := wc.Write(text); err != nil {
			wc.Close()
			return err
		}
		if err := wc.Close(); err != nil {
			return err
		}
	}
	_, err = b.Commit()
	return err
}
