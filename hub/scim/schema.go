package scim

import "strings"

// Schema and message URNs.
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// ShiftgateUserURN is the frontline extension (a DESIGN.md contract).
	ShiftgateUserURN = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	SchemaURN        = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	ResourceTypeURN  = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	ListResponseURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchOpURN       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// AttributeType is an attribute's data type (RFC 7643 §2.3).
type AttributeType string

// Attribute data types.
const (
	TypeString    AttributeType = "string"
	TypeBoolean   AttributeType = "boolean"
	TypeDecimal   AttributeType = "decimal"
	TypeInteger   AttributeType = "integer"
	TypeDateTime  AttributeType = "dateTime"
	TypeReference AttributeType = "reference"
	TypeComplex   AttributeType = "complex"
	TypeBinary    AttributeType = "binary"
)

// Mutability says whether and how a client may change an attribute.
type Mutability string

// Mutability values (RFC 7643 §7).
const (
	ReadOnly  Mutability = "readOnly"
	ReadWrite Mutability = "readWrite"
	Immutable Mutability = "immutable"
	WriteOnly Mutability = "writeOnly"
)

// Returned says when an attribute appears in a response.
type Returned string

// Returned values (RFC 7643 §7).
const (
	ReturnedAlways  Returned = "always"
	ReturnedNever   Returned = "never"
	ReturnedDefault Returned = "default"
	ReturnedRequest Returned = "request"
)

// Uniqueness says in which scope a value must be unique.
type Uniqueness string

// Uniqueness values (RFC 7643 §7).
const (
	UniquenessNone   Uniqueness = "none"
	UniquenessServer Uniqueness = "server"
	UniquenessGlobal Uniqueness = "global"
)

// Attribute describes one attribute or sub-attribute. It marshals to the
// RFC 7643 §7 attribute representation.
type Attribute struct {
	Name            string        `json:"name"`
	Type            AttributeType `json:"type"`
	MultiValued     bool          `json:"multiValued"`
	Description     string        `json:"description,omitempty"`
	Required        bool          `json:"required"`
	CanonicalValues []string      `json:"canonicalValues,omitempty"`
	CaseExact       bool          `json:"caseExact"`
	Mutability      Mutability    `json:"mutability"`
	Returned        Returned      `json:"returned"`
	Uniqueness      Uniqueness    `json:"uniqueness"`
	ReferenceTypes  []string      `json:"referenceTypes,omitempty"`
	SubAttributes   []*Attribute  `json:"subAttributes,omitempty"`

	// StrictCanonical makes Normalize reject values outside
	// CanonicalValues (compared case-insensitively, stored in canonical
	// spelling). Without it canonical values are only suggestions, as
	// RFC 7643 §2.3.1 has them.
	StrictCanonical bool `json:"-"`
	// DateOnly, for a dateTime, lets Normalize accept a bare date
	// ("2026-12-01") as HR systems send it, kept as sent, and says which
	// end of the day it stands for; see Normalize.
	DateOnly DateOnly `json:"-"`
	// FoldUUID, for a string that holds the id of a resource, makes
	// Normalize write a UUID in lower case, as the hub writes every id
	// (store.NewID). RFC 4122 §3 has UUIDs compared case-insensitively on
	// input: a client that sent a member's id in upper case got 400
	// "unknown member" on add and PUT, while a remove by filter, which
	// compares without case, removed it.
	FoldUUID bool `json:"-"`
}

// DateOnly says how a bare date is read for a dateTime attribute.
type DateOnly int

// DateOnly values. The numbers are not stored anywhere.
//
// A bare date is a calendar day, which begins and ends at different
// instants in different time zones: the resource keeps it as the client
// sent it (GET returns "2026-12-01"), and the hub resolves it in the time
// zone of each site where the user works (store.User.StartIn, EndIn). A
// filter compares it as that day in UTC.
const (
	// DateOnlyReject: a bare date is invalidValue (the default).
	DateOnlyReject DateOnly = 0
	// DateOnlyStartOfDay: "2026-12-01" starts at 00:00 of that day; a
	// filter compares it as 2026-12-01T00:00:00Z.
	DateOnlyStartOfDay DateOnly = 1
	// DateOnlyEndOfDay: "2026-12-01" ends at 24:00 of that day, the first
	// instant after it, so the whole (inclusive) day is covered; a filter
	// compares it as 2026-12-02T00:00:00Z.
	DateOnlyEndOfDay DateOnly = 2
)

// SubAttribute returns the sub-attribute with the given name, compared
// case-insensitively, or nil.
func (a *Attribute) SubAttribute(name string) *Attribute {
	return findAttr(a.SubAttributes, name)
}

// Schema is a SCIM schema (RFC 7643 §7). Common attributes (id,
// externalId, meta) belong to every resource and are not listed here.
type Schema struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Attributes  []*Attribute `json:"attributes"`
}

// Attribute returns the attribute with the given name, compared
// case-insensitively, or nil.
func (s *Schema) Attribute(name string) *Attribute { return findAttr(s.Attributes, name) }

// Extension is a schema extension of a resource type.
type Extension struct {
	Schema   *Schema
	Required bool
}

// ResourceType is a SCIM resource type (RFC 7643 §6).
type ResourceType struct {
	ID          string
	Name        string
	Description string
	Endpoint    string
	Schema      *Schema
	Extensions  []Extension
}

// Extension returns the extension schema with the given URN (compared
// case-insensitively), or nil.
func (rt *ResourceType) Extension(urn string) *Schema {
	for _, e := range rt.Extensions {
		if strings.EqualFold(e.Schema.ID, urn) {
			return e.Schema
		}
	}
	return nil
}

// Attribute returns a common (id, externalId, meta, schemas) or core
// schema attribute by name, compared case-insensitively, or nil.
func (rt *ResourceType) Attribute(name string) *Attribute {
	if a := findAttr(common, name); a != nil {
		return a
	}
	return rt.Schema.Attribute(name)
}

func findAttr(attrs []*Attribute, name string) *Attribute {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// Attribute constructors. Defaults: single-valued, readWrite, returned
// default, uniqueness none, caseExact false but for a binary value, which
// is case exact (RFC 7643 §2.3.6, and x509Certificates.value in §8.7.1):
// base64 "QUJD" and "qujd" are different bytes, and a filter or PATCH that
// took one for the other matched, or removed, another certificate.
func mkAttr(name string, t AttributeType, desc string, subs ...*Attribute) *Attribute {
	return &Attribute{Name: name, Type: t, Description: desc, Mutability: ReadWrite,
		Returned: ReturnedDefault, Uniqueness: UniquenessNone, SubAttributes: subs, CaseExact: t == TypeBinary}
}

func mkStr(name, desc string) *Attribute { return mkAttr(name, TypeString, desc) }

func mkMulti(a *Attribute) *Attribute { a.MultiValued = true; return a }

func mkRef(name, desc string, types ...string) *Attribute {
	a := mkAttr(name, TypeReference, desc)
	a.ReferenceTypes, a.CaseExact = types, true
	return a
}

func mkCanon(a *Attribute, values ...string) *Attribute { a.CanonicalValues = values; return a }

func mkReadOnly(a *Attribute) *Attribute {
	a.Mutability = ReadOnly
	for _, s := range a.SubAttributes {
		mkReadOnly(s)
	}
	return a
}

func mkRequired(a *Attribute) *Attribute { a.Required = true; return a }

// serverUnique marks an attribute unique within this server.
func serverUnique(a *Attribute) *Attribute { a.Uniqueness = UniquenessServer; return a }

// plural builds the usual multi-valued complex attribute with value,
// display, type and primary (RFC 7643 §2.4).
func mkPlural(name, desc string, value *Attribute, types ...string) *Attribute {
	return mkMulti(mkAttr(name, TypeComplex, desc, value,
		mkStr("display", "A human-readable name, primarily used for display purposes."),
		mkCanon(mkStr("type", "A label indicating the attribute's function."), types...),
		mkAttr("primary", TypeBoolean, "Whether this value is the preferred one; at most one value is primary.")))
}

// common is commonAttributes built once, for the per-request paths
// (projection of every returned resource, attribute names in filters):
// rebuilding them each time was 14% of the bytes a userName lookup
// allocated. Like a resource type's schema attributes they are shared and
// must not be modified.
var common = commonAttributes()

// commonAttributes are the attributes every resource has (RFC 7643 §3.1),
// plus "schemas", so that filters and projections can name them.
func commonAttributes() []*Attribute {
	id := mkStr("id", "Unique identifier of the resource, assigned by the service provider.")
	id.CaseExact, id.Mutability, id.Returned, id.Uniqueness = true, ReadOnly, ReturnedAlways, UniquenessServer
	ext := mkStr("externalId", "Identifier of the resource in the provisioning client.")
	ext.CaseExact = true
	meta := mkReadOnly(mkAttr("meta", TypeComplex, "Resource metadata.",
		mkStr("resourceType", "The name of the resource type."),
		mkAttr("created", TypeDateTime, "When the resource was added."),
		mkAttr("lastModified", TypeDateTime, "When the resource was last changed."),
		mkRef("location", "The URI of the resource.", "uri"),
		mkStr("version", "The version (ETag) of the resource.")))
	for _, s := range meta.SubAttributes {
		s.CaseExact = true
	}
	schemas := mkMulti(mkRef("schemas", "The schemas the resource conforms to.", "uri"))
	schemas.CaseExact, schemas.Mutability, schemas.Returned = false, ReadOnly, ReturnedAlways
	return []*Attribute{id, ext, meta, schemas}
}

// UserSchema returns the core User schema (RFC 7643 §4.1), freshly built.
func UserSchema() *Schema {
	userName := mkRequired(mkStr("userName", "Unique identifier for the User, typically used to sign in; compared case-insensitively."))
	userName.Uniqueness = UniquenessServer
	password := mkStr("password", "Not stored: Shiftgate has no passwords; a value sent is discarded.")
	password.Mutability, password.Returned = WriteOnly, ReturnedNever
	return &Schema{ID: UserURN, Name: "User", Description: "User Account", Attributes: []*Attribute{
		userName,
		mkAttr("name", TypeComplex, "The components of the user's name.",
			mkStr("formatted", "The full name, formatted for display."),
			mkStr("familyName", "The family name."),
			mkStr("givenName", "The given name."),
			mkStr("middleName", "The middle name(s)."),
			mkStr("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
			mkStr("honorificSuffix", "The honorific suffix(es), e.g. 'III'.")),
		mkStr("displayName", "The name of the User, suitable for display to end-users."),
		mkStr("nickName", "The casual way to address the user."),
		mkRef("profileUrl", "A URI of the user's online profile.", "external"),
		mkStr("title", "The user's title, such as 'Vice President'."),
		mkStr("userType", "The relationship between the organization and the user."),
		mkStr("preferredLanguage", "The user's preferred written or spoken language (RFC 7231 Accept-Language)."),
		mkStr("locale", "The user's default location for localization, e.g. 'en-US'."),
		mkStr("timezone", "The user's time zone in IANA format, e.g. 'Europe/Berlin'."),
		mkAttr("active", TypeBoolean, "Whether the user may sign in. false deprovisions the user and ends their sessions."),
		password,
		mkPlural("emails", "Email addresses for the user.", mkStr("value", "The email address."), "work", "home", "other"),
		mkPlural("phoneNumbers", "Phone numbers for the user.", mkStr("value", "The phone number."),
			"work", "home", "mobile", "fax", "pager", "other"),
		mkPlural("ims", "Instant messaging addresses for the user.", mkStr("value", "The IM address."),
			"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
		mkPlural("photos", "URLs of photos of the user.", mkRef("value", "The URL of a photo.", "external"), "photo", "thumbnail"),
		mkMulti(mkAttr("addresses", TypeComplex, "Physical mailing addresses for the user.",
			mkStr("formatted", "The full mailing address, formatted for display."),
			mkStr("streetAddress", "The street address."),
			mkStr("locality", "The city or locality."),
			mkStr("region", "The state or region."),
			mkStr("postalCode", "The zip or postal code."),
			mkStr("country", "The country name (ISO 3166-1 alpha-2)."),
			mkCanon(mkStr("type", "A label indicating the address's function."), "work", "home", "other"),
			mkAttr("primary", TypeBoolean, "Whether this is the primary address."))),
		mkReadOnly(mkMulti(mkAttr("groups", TypeComplex, "The groups the user belongs to; change membership through /Groups.",
			mkStr("value", "The id of the group."),
			mkRef("$ref", "The URI of the group.", "User", "Group"),
			mkStr("display", "The displayName of the group."),
			mkCanon(mkStr("type", "Direct or indirect membership."), "direct", "indirect")))),
		mkPlural("entitlements", "Entitlements of the user.", mkStr("value", "The entitlement.")),
		mkPlural("roles", "Roles of the user.", mkStr("value", "The role.")),
		mkPlural("x509Certificates", "X.509 certificates of the user.", mkAttr("value", TypeBinary, "The DER certificate, base64.")),
	}}
}

// EnterpriseUserSchema returns the Enterprise User extension (RFC 7643
// §4.3), freshly built.
func EnterpriseUserSchema() *Schema {
	managerName := mkStr("displayName", "The displayName of the manager.")
	managerName.Mutability = ReadOnly
	return &Schema{ID: EnterpriseUserURN, Name: "EnterpriseUser", Description: "Enterprise User",
		Attributes: []*Attribute{
			mkStr("employeeNumber", "Identifier assigned to the user by the organization."),
			mkStr("costCenter", "Name of a cost center."),
			mkStr("organization", "Name of an organization."),
			mkStr("division", "Name of a division."),
			mkStr("department", "Name of a department."),
			mkAttr("manager", TypeComplex, "The user's manager. A plain string is read as manager.value.",
				mkStr("value", "The id of the manager's User resource."),
				mkRef("$ref", "The URI of the manager's User resource.", "User"),
				managerName),
		}}
}

// ShiftgateUserSchema returns Shiftgate's frontline extension, freshly
// built. Its URN and attribute names are a contract with IdP admins.
func ShiftgateUserSchema() *Schema {
	start := mkAttr("startDate", TypeDateTime, "First day of employment; the user cannot sign in before it. "+
		"A bare date (2026-12-01) is that day where the user works: sign-in opens at 00:00 of it in the time zone of the kiosk's site, "+
		"and the date is returned as sent. A date-time with Z or an offset is that instant at every site (without one it is read as UTC).")
	start.DateOnly = DateOnlyStartOfDay
	end := mkAttr("endDate", TypeDateTime, "Last day of employment; sign-in ends after it. "+
		"A bare date (2026-12-01) includes the whole day where the user works: sign-in ends at 24:00 of it in the time zone of the kiosk's site, "+
		"sessions end then, and the user is deprovisioned once the day is over at every one of the user's sites; the date is returned as sent. "+
		"A date-time with Z or an offset is that instant at every site (without one it is read as UTC).")
	end.DateOnly = DateOnlyEndOfDay
	expires := mkAttr("expires", TypeDateTime, "When the certification expires; absent means it does not. "+
		"A bare date (2026-12-31) is its last valid day where the user works: it counts until 24:00 of that day in the time zone of the kiosk's site, "+
		"and sessions that need it end then; the date is returned as sent. A date-time with Z or an offset is that instant at every site.")
	expires.DateOnly = DateOnlyEndOfDay
	emp := mkCanon(mkStr("employmentType", "The kind of engagement."), "employee", "contractor", "vendor", "temp")
	emp.StrictCanonical = true
	return &Schema{ID: ShiftgateUserURN, Name: "ShiftgateUser", Description: "Shiftgate frontline worker",
		Attributes: []*Attribute{
			mkMulti(mkStr("sites", "Site identifiers where the user may sign in; compared case-insensitively.")),
			emp, start, end,
			mkMulti(mkAttr("shifts", TypeComplex, "Scheduled shifts; sessions end at the shift's end.",
				mkRequired(mkAttr("start", TypeDateTime, "When the shift starts.")),
				mkRequired(mkAttr("end", TypeDateTime, "When the shift ends.")))),
			mkMulti(mkAttr("certifications", TypeComplex, "Certifications that policies may require.",
				mkRequired(mkStr("name", "The certification's name.")),
				expires)),
		}}
}

// GroupSchema returns the core Group schema (RFC 7643 §4.2), freshly built.
func GroupSchema() *Schema {
	member := func(a *Attribute) *Attribute { a.Mutability = Immutable; return a }
	memberID := member(mkStr("value", "The id of the member resource."))
	memberID.FoldUUID = true
	return &Schema{ID: GroupURN, Name: "Group", Description: "Group; Shiftgate maps groups to roles by displayName.",
		Attributes: []*Attribute{
			serverUnique(mkRequired(mkStr("displayName", "A human-readable name for the group; it names the Shiftgate role, so it is unique."))),
			mkMulti(mkAttr("members", TypeComplex, "The members of the group.",
				memberID,
				member(mkRef("$ref", "The URI of the member resource.", "User", "Group")),
				mkStr("display", "The displayName of the member."),
				member(mkCanon(mkStr("type", "The type of the member resource."), "User", "Group")))),
		}}
}

// UserResourceType returns the User resource type with the enterprise and
// Shiftgate extensions (both optional), freshly built.
func UserResourceType() *ResourceType {
	return &ResourceType{ID: "User", Name: "User", Description: "User Account", Endpoint: "/Users",
		Schema: UserSchema(), Extensions: []Extension{
			{Schema: EnterpriseUserSchema()}, {Schema: ShiftgateUserSchema()}}}
}

// GroupResourceType returns the Group resource type, freshly built.
func GroupResourceType() *ResourceType {
	return &ResourceType{ID: "Group", Name: "Group", Description: "Group", Endpoint: "/Groups", Schema: GroupSchema()}
}

// ResourceTypes returns every resource type the server offers.
func ResourceTypes() []*ResourceType {
	return []*ResourceType{UserResourceType(), GroupResourceType()}
}

// Schemas returns every schema the server offers, in /Schemas order.
func Schemas() []*Schema {
	return []*Schema{UserSchema(), EnterpriseUserSchema(), ShiftgateUserSchema(), GroupSchema()}
}

// SchemaResources returns the /Schemas representations (RFC 7643 §7), each
// with its meta; baseURL is the SCIM root, e.g.
// "https://hub.example.com/scim/v2". The maps are fresh on every call.
func SchemaResources(baseURL string) []map[string]any {
	var out []map[string]any
	for _, s := range Schemas() {
		out = append(out, map[string]any{
			"schemas":     []string{SchemaURN},
			"id":          s.ID,
			"name":        s.Name,
			"description": s.Description,
			"attributes":  s.Attributes,
			"meta": map[string]any{"resourceType": "Schema",
				"location": strings.TrimRight(baseURL, "/") + "/Schemas/" + s.ID},
		})
	}
	return out
}

// ResourceTypeResources returns the /ResourceTypes representations
// (RFC 7643 §6), each with its meta. The maps are fresh on every call.
func ResourceTypeResources(baseURL string) []map[string]any {
	var out []map[string]any
	for _, rt := range ResourceTypes() {
		exts := []map[string]any{}
		for _, e := range rt.Extensions {
			exts = append(exts, map[string]any{"schema": e.Schema.ID, "required": e.Required})
		}
		r := map[string]any{
			"schemas":     []string{ResourceTypeURN},
			"id":          rt.ID,
			"name":        rt.Name,
			"description": rt.Description,
			"endpoint":    rt.Endpoint,
			"schema":      rt.Schema.ID,
			"meta": map[string]any{"resourceType": "ResourceType",
				"location": strings.TrimRight(baseURL, "/") + "/ResourceTypes/" + rt.ID},
		}
		if len(exts) > 0 {
			r["schemaExtensions"] = exts
		}
		out = append(out, r)
	}
	return out
}
