package lifecycle

import (
	"bytes"
	"encoding/json"
	"strings"
)

// enterpriseURN is the SCIM Enterprise User extension (RFC 7643 §4.3).
const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// maxEnterpriseValue caps the manager and department values taken from a
// document: they end up in audit records and reports.
const maxEnterpriseValue = 256

// Enterprise is what access governance reads from a user's SCIM document:
// the Enterprise User extension's manager and department. The hub keeps
// the document verbatim (store.User.Document), so these need no column.
type Enterprise struct {
	// Manager is manager.value: the identifier of the manager's User
	// resource as the identity provider sent it (the hub's user ID, or
	// the manager's externalId or userName for IdPs that send those).
	Manager    string
	Department string
}

// EnterpriseOf reads the Enterprise User attributes from a stored user
// document (in the canonical form hub/scim stores). It never fails: a
// missing, malformed or oddly shaped document yields empty values (Entra sends the manager as a plain string, which is
// read as manager.value).
func EnterpriseOf(doc []byte) Enterprise {
	// hub/scim stores documents in canonical form, the extension under
	// its URN spelled as in the schema: most documents have none, and are
	// not decoded at all (this runs on every provisioning change).
	if !bytes.Contains(doc, []byte(enterpriseURN)) {
		return Enterprise{}
	}
	var d map[string]json.RawMessage
	if json.Unmarshal(doc, &d) != nil {
		return Enterprise{}
	}
	raw, ok := d[enterpriseURN]
	if !ok {
		return Enterprise{}
	}
	var ext map[string]json.RawMessage
	if json.Unmarshal(raw, &ext) != nil {
		return Enterprise{}
	}
	var e Enterprise
	for k, v := range ext {
		switch strings.ToLower(k) {
		case "department":
			e.Department = clip(plainString(v))
		case "manager":
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) == nil {
				for mk, mv := range m {
					if strings.EqualFold(mk, "value") {
						e.Manager = clip(plainString(mv))
					}
				}
			} else {
				e.Manager = clip(plainString(v))
			}
		}
	}
	return e
}

func plainString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

func clip(s string) string {
	if len(s) > maxEnterpriseValue {
		return ""
	}
	return s
}

// enterpriseSummary adds the manager and department to an audit summary,
// so that a mover's change of department or manager is on record.
func enterpriseSummary(m map[string]any, doc []byte) {
	e := EnterpriseOf(doc)
	if e.Manager != "" {
		m["manager"] = e.Manager
	}
	if e.Department != "" {
		m["department"] = e.Department
	}
}
