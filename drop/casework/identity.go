package casework

import (
	"slices"
	"strconv"

	"cleandrop/vault"
)

// Identities returns the identities on file in case c, oldest first: their
// records only (item, day, purpose), never their content, which is sealed
// to the agency's custodian.
func Identities(c vault.Case) []vault.Item {
	var out []vault.Item
	for _, it := range c.Items {
		if it.Kind == vault.KindIdentity {
			out = append(out, it)
		}
	}
	return out
}

// IdentityOpened records that the custodian opened identity item id of
// case ref (0: the latest on file) on their offline machine. Only a
// custodian of the case's agency may ([ErrIdentity] for anyone else); the
// opening itself happens offline, with the custodian's key, and this
// entry ("identity.opened") is how the audit log learns of it.
func (d *Desk) IdentityOpened(a Actor, ref string, id int) (vault.Case, vault.Item, error) {
	c, err := d.Load(a, ref)
	if err != nil {
		return c, vault.Item{}, err
	}
	if !a.custodian() {
		return c, vault.Item{}, ErrIdentity
	}
	ids := Identities(c)
	if len(ids) == 0 {
		return c, vault.Item{}, ErrNoIdentity
	}
	it := ids[len(ids)-1]
	if id != 0 {
		i := slices.IndexFunc(ids, func(it vault.Item) bool { return it.ID == id })
		if i < 0 {
			return c, vault.Item{}, ErrNoItem
		}
		it = ids[i]
	}
	if err := d.record(a, "identity.opened", c.Ref, "item "+strconv.Itoa(it.ID)+" "+string(it.Purpose)); err != nil {
		return c, vault.Item{}, err
	}
	return c, it, nil
}
