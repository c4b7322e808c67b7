package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// ContentType is the SCIM media type (RFC 7644 §3.1).
const ContentType = "application/scim+json"

const (
	listResponseURN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	// defaultCount and maxResults bound a page (advertised in
	// ServiceProviderConfig.filter.maxResults).
	defaultCount = 100
	maxResults   = 1000
)

// HandlerConfig is what the SCIM HTTP handler needs.
type HandlerConfig struct {
	Prefix  string // path the handler is mounted at, e.g. /scim/v2
	BaseURL string // absolute URL of Prefix, for meta.location and $ref
	Store   store.Store
	Engine  *lifecycle.Engine
	Now     func() time.Time
	// MaxBodyBytes caps request bodies; larger ones get 413.
	MaxBodyBytes int64
	Logger       *slog.Logger
	// Authorize checks the request's credentials and names the actor; its
	// error is rendered as it is (use ErrUnauthorized).
	Authorize func(*http.Request) (lifecycle.Actor, error)
	// MaxSnapshotScan is the most users and groups a filtered list that
	// no index narrows reads in one read transaction (see
	// Handler.readScan); 0 means DefaultMaxSnapshotScan.
	MaxSnapshotScan int
}

// DefaultMaxSnapshotScan is HandlerConfig.MaxSnapshotScan's default. A
// scan reads, renders and matches a user in 60-80 µs on two loaded
// cores, so a snapshot of this many is held for about a second; at
// 100,000 users one scan held it for 6-8 s.
const DefaultMaxSnapshotScan = 10_000

// Handler serves SCIM 2.0 (RFC 7644) for Users and Groups and the
// discovery endpoints.
type Handler struct {
	cfg    HandlerConfig
	users  *ResourceType
	groups *ResourceType
	mux    *http.ServeMux
	// The discovery documents never change: built once.
	schemaRes, typeRes []map[string]any
	// methods lists, for each path pattern an endpoint is registered at,
	// the methods it answers; paths holds the same patterns without a
	// method, to find the one a request's path matches whatever its
	// method. Together they tell a wrong method (405, with Allow) from an
	// unknown endpoint (404).
	methods map[string][]string
	paths   *http.ServeMux
}

// NewHandler returns the SCIM handler.
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxSnapshotScan <= 0 {
		cfg.MaxSnapshotScan = DefaultMaxSnapshotScan
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	h := &Handler{cfg: cfg, users: UserResourceType(), groups: GroupResourceType(), mux: http.NewServeMux(),
		schemaRes: SchemaResources(cfg.BaseURL), typeRes: ResourceTypeResources(cfg.BaseURL),
		methods: map[string][]string{}, paths: http.NewServeMux()}
	p := cfg.Prefix
	h.route("GET "+p+"/Users", listQuery(h.queryUsers))
	h.route("POST "+p+"/Users", h.createUser)
	h.route("POST "+p+"/Users/.search", h.search(h.queryUsers))
	h.route("GET "+p+"/Users/{id}", h.getUser)
	h.route("PUT "+p+"/Users/{id}", h.replaceUser)
	h.route("PATCH "+p+"/Users/{id}", h.patchUser)
	h.route("DELETE "+p+"/Users/{id}", h.deleteUser)
	h.route("GET "+p+"/Groups", listQuery(h.queryGroups))
	h.route("POST "+p+"/Groups", h.createGroup)
	h.route("POST "+p+"/Groups/.search", h.search(h.queryGroups))
	h.route("GET "+p+"/Groups/{id}", h.getGroup)
	h.route("PUT "+p+"/Groups/{id}", h.replaceGroup)
	h.route("PATCH "+p+"/Groups/{id}", h.patchGroup)
	h.route("DELETE "+p+"/Groups/{id}", h.deleteGroup)
	h.route("POST "+p+"/.search", h.search(h.queryAll))
	h.route("GET "+p+"/ServiceProviderConfig", h.serviceProviderConfig)
	h.route("GET "+p+"/Schemas", h.schemas)
	h.route("GET "+p+"/Schemas/{id}", h.schema)
	h.route("GET "+p+"/ResourceTypes", h.resourceTypes)
	h.route("GET "+p+"/ResourceTypes/{id}", h.resourceType)
	// RFC 7644 §3.11: a service provider without /Me SHOULD answer 501.
	// Bulk (§3.7) is not offered either (ServiceProviderConfig says so):
	// 501 tells a client that probes it to send single requests, where
	// 404 reads as a wrong base URL.
	notImplemented := map[string]string{
		"/Me":   "this server does not implement /Me (RFC 7644 §3.11): a SCIM token names a provisioning client, not a user; use /Users/{id}",
		"/Bulk": "this server does not implement /Bulk (RFC 7644 §3.7; ServiceProviderConfig bulk.supported is false); send each operation as its own request",
	}
	for path, detail := range notImplemented {
		h.unrouted(p+path, &Error{Status: http.StatusNotImplemented, Detail: detail})
		h.unrouted(p+path+"/", &Error{Status: http.StatusNotImplemented, Detail: detail})
	}
	h.mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		if _, err := cfg.Authorize(r); err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeError(w, r, h.noRoute(r))
	})
	return h
}

// route registers an authenticated endpoint; pattern is "METHOD PATH".
func (h *Handler) route(pattern string, fn func(http.ResponseWriter, *http.Request, lifecycle.Actor) error) {
	method, path, _ := strings.Cut(pattern, " ")
	if _, ok := h.methods[path]; !ok {
		h.paths.Handle(path, http.NotFoundHandler()) // only matched, never served
	}
	h.methods[path] = append(h.methods[path], method)
	if method == http.MethodGet {
		h.methods[path] = append(h.methods[path], http.MethodHead) // the mux serves HEAD with GET
	}
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		actor, err := h.cfg.Authorize(r)
		if err == nil {
			err = fn(w, r, actor)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

// unrouted registers an authenticated path, any method, that answers
// with err.
func (h *Handler) unrouted(path string, err *Error) {
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if _, aerr := h.cfg.Authorize(r); aerr != nil {
			h.writeError(w, r, aerr)
			return
		}
		h.writeError(w, r, err)
	})
}

// noRoute is the error for a request no route took: 405 with the methods
// the path allows when it is an endpoint's (DELETE /Users, PUT /Groups,
// PATCH /ServiceProviderConfig), else 404.
func (h *Handler) noRoute(r *http.Request) *Error {
	if _, path := h.paths.Handler(r); path != "" {
		allow := strings.Join(h.methods[path], ", ")
		return &Error{Status: http.StatusMethodNotAllowed, allow: allow,
			Detail: "this SCIM endpoint does not take " + r.Method + "; it takes " + allow}
	}
	return &Error{Status: http.StatusNotFound, Detail: "no SCIM endpoint " + r.URL.Path + "; this server offers /Users, /Groups, /ServiceProviderConfig, /Schemas and /ResourceTypes"}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.cfg.Logger.Error("scim handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			h.writeError(w, r, fmt.Errorf("panic: %v", p))
		}
	}()
	h.mux.ServeHTTP(w, r)
}

// ErrUnauthorized is the 401 for a missing or bad bearer token.
func ErrUnauthorized(detail string) *Error {
	return &Error{Status: http.StatusUnauthorized, Detail: detail}
}

// writeError renders err in the SCIM error schema: the one place where
// errors become HTTP statuses.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se *Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &se):
	case errors.As(err, &tooBig):
		se = &Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("request body is larger than %d bytes; split the request", tooBig.Limit)}
	case errors.Is(err, lifecycle.ErrUnknownMember):
		se = &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: userMessage(err) + ": every member must be an existing user"}
	case errors.Is(err, store.ErrNotFound):
		se = &Error{Status: http.StatusNotFound, Detail: "resource " + r.PathValue("id") + " not found"}
	case errors.Is(err, store.ErrConflict):
		se = &Error{Status: http.StatusConflict, ScimType: "uniqueness", Detail: "a resource with this userName or displayName already exists"}
	case errors.Is(err, errPrecondition):
		se = &Error{Status: http.StatusPreconditionFailed, Detail: "the resource changed since the version in If-Match; GET it again and retry"}
	case errors.Is(err, store.ErrBusy), errors.Is(err, store.ErrFull):
		// Neither the client's fault nor a bug: another process held
		// the database's write lock past the busy timeout (an identity
		// provider may retry a 503 after Retry-After, RFC 9110 §15.6.4),
		// or the disk is full.
		client, what, do, _ := store.Outage(err)
		h.cfg.Logger.Error("scim request failed: "+what, "method", r.Method, "path", r.URL.Path, "err", err, "do", do)
		se = &Error{Status: http.StatusInsufficientStorage, Detail: client}
		if errors.Is(err, store.ErrBusy) {
			w.Header().Set("Retry-After", store.BusyRetryAfter)
			se.Status = http.StatusServiceUnavailable
		}
	default:
		if r.Context().Err() == nil {
			h.cfg.Logger.Error("scim request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		se = &Error{Status: http.StatusInternalServerError, Detail: "internal error; the hub log has the details"}
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shiftgate-scim"`)
	}
	if se.allow != "" {
		w.Header().Set("Allow", se.allow)
	}
	writeJSON(w, se.Status, se)
}

// userMessage strips an error down to its first line for a client.
func userMessage(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

var errPrecondition = errors.New("precondition failed")

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer putJSONBuffer(buf)
	var b []byte
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"internal error"}`)
	} else {
		b = bytes.TrimSuffix(buf.Bytes(), []byte("\n")) // what json.Marshal writes
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// jsonBuffers hold responses while they are encoded: json.Marshal would
// return a fresh copy of each, garbage as soon as it is written.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putJSONBuffer returns buf to jsonBuffers unless a large listing grew it:
// the pool keeps the common answer's size, not the largest one's.
func putJSONBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 64<<10 {
		return
	}
	buf.Reset()
	jsonBuffers.Put(buf)
}

// documentDecoder decodes stored documents (JSON objects) with numbers
// kept as json.Number. Decoders are pooled: a fresh json.Decoder and its
// read buffer per rendered resource were a fifth of a lookup's garbage.
type documentDecoder struct {
	r   bytes.Reader
	dec *json.Decoder
}

var documentDecoders = sync.Pool{New: func() any {
	d := &documentDecoder{}
	d.dec = json.NewDecoder(&d.r)
	d.dec.UseNumber()
	return d
}}

// decodeDocument decodes the first JSON value of doc into v, as
// json.Decoder with UseNumber does.
func decodeDocument(doc []byte, v any) error {
	d := documentDecoders.Get().(*documentDecoder)
	d.r.Reset(doc)
	start := d.dec.InputOffset()
	err := d.dec.Decode(v)
	// A decoder is reused only when it consumed doc to the end without an
	// error: nothing of this document may be left for the next one.
	if err == nil && d.dec.InputOffset()-start == int64(len(doc)) {
		documentDecoders.Put(d)
	}
	return err
}

// readBody reads a JSON request body within the size limit.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return h.readBodyLimit(w, r, h.cfg.MaxBodyBytes)
}

// readBodyLimit is readBody with a limit of its own: a body larger than
// limit bytes is a *http.MaxBytesError (413).
func (h *Handler) readBodyLimit(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != ContentType && mt != "application/json") {
			return nil, &Error{Status: http.StatusUnsupportedMediaType, Detail: "send the body as " + ContentType + " or application/json, not " + ct}
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, &Error{Status: http.StatusBadRequest, ScimType: "invalidSyntax", Detail: "could not read the request body"}
	}
	// SCIM bodies are UTF-8 JSON (RFC 7644 §3.1): a value encoding/json
	// would not read as sent is refused, not stored altered.
	if msg := store.BadJSONText(b); msg != "" {
		return nil, ErrInvalidSyntax("%s", msg)
	}
	return b, nil
}

// decodeObject parses a JSON object body, numbers kept exact.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, &Error{Status: http.StatusBadRequest, ScimType: "invalidSyntax", Detail: "the body must be one JSON object"}
	}
	if !atEnd(dec) {
		return nil, &Error{Status: http.StatusBadRequest, ScimType: "invalidSyntax", Detail: "the body must be one JSON object, with nothing after it"}
	}
	return m, nil
}

// atEnd reports whether dec has nothing left but white space after the
// value it decoded (Decoder.More is false before a stray ] or } too).
func atEnd(dec *json.Decoder) bool {
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}

// listParams are a query's paging and projection parameters.
type listParams struct {
	filter     string
	startIndex int // 1-based
	count      int
	attributes []string
	excluded   []string
}

// newListParams applies RFC 7644 §3.4.2.4 to a query's parameters, from
// the URL or from a SearchRequest: startIndex defaults to 1 and less than
// 1 is 1; count defaults to defaultCount, negative is 0, and more than
// maxResults is maxResults. nil is a parameter not given.
func newListParams(filter string, startIndex, count *int, attributes, excluded []string) listParams {
	p := listParams{filter: filter, startIndex: 1, count: defaultCount, attributes: attributes, excluded: excluded}
	if startIndex != nil {
		p.startIndex = max(*startIndex, 1)
	}
	if count != nil {
		p.count = min(max(*count, 0), maxResults)
	}
	return p
}

// errNotInteger is the error for a startIndex or count that is not an
// integer, in the URL or in a SearchRequest.
func errNotInteger(param string) *Error {
	return &Error{Status: http.StatusBadRequest, ScimType: ScimTypeInvalidValue, Detail: param + " must be an integer"}
}

// parsePaging reads a startIndex or count, in the URL or a SearchRequest:
// a decimal integer of any length. One beyond an int is taken as the
// largest of its sign, since newListParams then gives it the meaning its
// real value has (a count caps at maxResults or is 0, a startIndex runs
// past the results or is 1): a client that asks for "everything" with
// a huge count gets the first page, as RFC 7644 §3.4.2.4 has a server
// answer a count above its maximum, not a 400.
func parsePaging(param, s string) (*int, error) {
	n, err := strconv.Atoi(s)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, errNotInteger(param)
	}
	return &n, nil
}

// parseListParams reads a GET's query parameters.
func parseListParams(q url.Values) (listParams, error) {
	var paging [2]*int
	for i, name := range []string{"startIndex", "count"} {
		s := q.Get(name)
		if s == "" {
			continue
		}
		n, err := parsePaging(name, s)
		if err != nil {
			return listParams{}, err
		}
		paging[i] = n
	}
	return newListParams(q.Get("filter"), paging[0], paging[1], splitList(q.Get("attributes")), splitList(q.Get("excludedAttributes"))), nil
}

// query answers a list or search with parsed parameters: the number of
// resources that match and the page of them asked for, each projected as
// asked.
type query func(ctx context.Context, p listParams) (total int, page []map[string]any, err error)

// listQuery serves GET on a resource endpoint: parameters from the URL.
func listQuery(q query) func(http.ResponseWriter, *http.Request, lifecycle.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
		p, err := parseListParams(r.URL.Query())
		if err != nil {
			return err
		}
		return writeQuery(w, r, q, p)
	}
}

// search serves POST .search (RFC 7644 §3.4.3): the query that GET on the
// endpoint answers (at the root, queryAll), with its parameters in a
// SearchRequest body instead of the URL, where a filter's values would be
// logged by every proxy on the way.
func (h *Handler) search(q query) func(http.ResponseWriter, *http.Request, lifecycle.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
		p, err := h.searchParams(w, r)
		if err != nil {
			return err
		}
		return writeQuery(w, r, q, p)
	}
}

func writeQuery(w http.ResponseWriter, r *http.Request, q query, p listParams) error {
	total, items, err := q(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newListResponse(total, p.startIndex, items))
	return nil
}

// SearchRequestURN is the schema of a POST .search body (RFC 7644 §3.4.3).
const SearchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// maxSearchBody caps a SearchRequest body, below MaxBodyBytes: its filter
// is at most maxFilterLen bytes, and the rest is a few attribute names.
const maxSearchBody = 64 << 10

// searchParams reads a POST .search body: a SearchRequest (RFC 7644
// §3.4.3) whose schemas list SearchRequestURN, with the GET query's
// parameters as its attributes and the same rules and errors
// (newListParams, invalidValue for a startIndex or count that is not an
// integer). attributes and excludedAttributes are arrays of names (a name
// holding commas is split, as in the URL). sortBy and sortOrder must be
// strings and are ignored, as in the URL: this server does not sort
// (ServiceProviderConfig sort.supported is false). Unknown members are
// ignored, as unknown attributes of a resource are (RFC 7644 §3.3). A
// body that is not such an object is invalidSyntax; one larger than
// maxSearchBody is 413.
func (h *Handler) searchParams(w http.ResponseWriter, r *http.Request) (listParams, error) {
	b, err := h.readBodyLimit(w, r, min(h.cfg.MaxBodyBytes, maxSearchBody))
	if err != nil {
		return listParams{}, err
	}
	var req struct {
		Schemas            []string        `json:"schemas"`
		Attributes         []string        `json:"attributes"`
		ExcludedAttributes []string        `json:"excludedAttributes"`
		Filter             string          `json:"filter"`
		SortBy             string          `json:"sortBy"`
		SortOrder          string          `json:"sortOrder"`
		StartIndex         json.RawMessage `json:"startIndex"`
		Count              json.RawMessage `json:"count"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return listParams{}, ErrInvalidSyntax("the SearchRequest's %s has the wrong type: schemas, attributes and excludedAttributes are arrays of strings; filter, sortBy and sortOrder strings; startIndex and count integers", typeErr.Field)
		}
		return listParams{}, ErrInvalidSyntax(`the body must be one SearchRequest JSON object, such as {"schemas":[%q],"filter":"userName eq \"bjensen\""}`, SearchRequestURN)
	}
	if !slices.ContainsFunc(req.Schemas, func(s string) bool { return strings.EqualFold(s, SearchRequestURN) }) {
		return listParams{}, ErrInvalidSyntax("schemas must be [%q]", SearchRequestURN)
	}
	var paging [2]*int
	for i, m := range []struct {
		name string
		raw  json.RawMessage
	}{{"startIndex", req.StartIndex}, {"count", req.Count}} {
		if len(m.raw) == 0 || string(m.raw) == "null" {
			continue
		}
		// A valid JSON value that Atoi reads is a JSON integer: a string
		// keeps its quotes, a fraction or exponent is refused.
		n, err := parsePaging(m.name, string(m.raw))
		if err != nil {
			return listParams{}, err
		}
		paging[i] = n
	}
	return newListParams(req.Filter, paging[0], paging[1],
		splitList(strings.Join(req.Attributes, ",")), splitList(strings.Join(req.ExcludedAttributes, ","))), nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// resourceBody reads a resource body: the JSON object as sent and its
// normalised form.
func (h *Handler) resourceBody(w http.ResponseWriter, r *http.Request, rt *ResourceType) (in, res map[string]any, err error) {
	b, err := h.readBody(w, r)
	if err != nil {
		return nil, nil, err
	}
	if in, err = decodeObject(b); err != nil {
		return nil, nil, err
	}
	res, err = Normalize(rt, in)
	return in, res, err
}

// parseFilter parses the query's filter, nil when there is none.
func (p listParams) parseFilter(rt *ResourceType) (*Filter, error) {
	if p.filter == "" {
		return nil, nil
	}
	return ParseFilter(rt, p.filter)
}

// projectPage projects each of a query's page of resources as the query
// asks.
func projectPage(rt *ResourceType, p listParams, items []map[string]any) []map[string]any {
	pj := newProjection(rt, p.attributes, p.excluded)
	for i := range items {
		items[i] = pj.apply(items[i], owned)
	}
	return items
}

// Filtered queries read, render and match the store's candidates this many
// at a time (groups fewer: they carry their members). The store cannot
// evaluate a SCIM filter, so every candidate is matched, but only one batch
// and the page asked for are held at once, not every user of the hub.
//
// An equality on a unique or indexed attribute (userName, externalId, id,
// a group's displayName) narrows the candidates to a few through an index:
// those are read in one batch without a LIMIT (narrowed), because with one
// SQLite walks the table in list order instead of the index, and the
// lookup identity providers make before every change became a scan of
// every user (p99 150-230 ms against 10-16 ms at 10,000 users,
// BenchmarkSCIMGetByUserNameAt10000).
const (
	userScanBatch  = 250
	groupScanBatch = 50
	narrowed       = math.MaxInt
)

// matchPage evaluates f on every candidate the store lists and returns the
// number of matches and the page of them that p asks for (RFC 7644
// §3.4.2.4: totalResults counts every match, Resources holds at most count
// of them from startIndex on).
//
// list reads at most limit candidates in the store's order (by creation,
// then ID: store.ListKey), after the candidate after names, and key gives
// a candidate's place in that order. The first batch is read from the
// start (after is the zero key) and with the store's total, which the
// handler bounds a scan's read transaction by (readScan); each other
// batch after the last candidate read, through the index of that order,
// and without a total. Read by offset with a count each, a batch read and
// skipped every user before it and counted every user: a scan of 100,000
// users took seconds, time that grew with the square of their number.
//
// Batches are separate store reads; the handler makes them in one read
// transaction (queryUsers, queryGroups, queryAll), so that they see one
// snapshot. Should they not, a batch still starts right after the last
// candidate read, whatever was created or deleted meanwhile: a candidate
// that exists throughout the query is matched exactly once; one created
// or deleted meanwhile may or may not be.
func matchPage[T any](f *Filter, p listParams, batch int, list func(after store.ListKey, limit int) ([]T, error), key func(T) store.ListKey, render func(T) (map[string]any, error)) (total int, page []map[string]any, err error) {
	from := p.startIndex - 1
	var after store.ListKey
	for {
		cands, err := list(after, batch)
		if err != nil {
			return 0, nil, err
		}
		for _, c := range cands {
			res, err := render(c)
			if err != nil {
				return 0, nil, err
			}
			if !f.Match(res) {
				continue
			}
			if total >= from && total-from < p.count {
				page = append(page, res)
			}
			total++
		}
		if len(cands) < batch {
			return total, page, nil
		}
		after = key(cands[len(cands)-1])
	}
}

// listResponse is RFC 7644 §3.4.2's ListResponse.
type listResponse struct {
	Schemas      []string         `json:"schemas"`
	TotalResults int              `json:"totalResults"`
	StartIndex   int              `json:"startIndex"`
	ItemsPerPage int              `json:"itemsPerPage"`
	Resources    []map[string]any `json:"Resources"`
}

func newListResponse(total, startIndex int, items []map[string]any) listResponse {
	if items == nil {
		items = []map[string]any{}
	}
	return listResponse{Schemas: []string{listResponseURN}, TotalResults: total, StartIndex: startIndex, ItemsPerPage: len(items), Resources: items}
}

// etag is a resource version as an HTTP entity tag.
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// checkIfMatch enforces If-Match against the current version.
func checkIfMatch(r *http.Request, version int64) error {
	im := r.Header.Get("If-Match")
	if im == "" || im == "*" {
		return nil
	}
	want := etag(version)
	for _, t := range strings.Split(im, ",") {
		t = strings.TrimSpace(t)
		if t == want || "W/"+t == want {
			return nil
		}
	}
	return errPrecondition
}

// notModified answers 304 when If-None-Match names the current version.
func notModified(w http.ResponseWriter, r *http.Request, version int64) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" {
		return false
	}
	want := etag(version)
	for _, t := range strings.Split(inm, ",") {
		if t = strings.TrimSpace(t); t == want || t == "*" || "W/"+t == want {
			w.Header().Set("ETag", want)
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

// meta is a resource's meta attribute (RFC 7643 §3.1).
func (h *Handler) meta(resourceType, location string, created, modified time.Time, version int64) map[string]any {
	return map[string]any{
		"resourceType": resourceType,
		"created":      created.UTC().Format(time.RFC3339Nano),
		"lastModified": modified.UTC().Format(time.RFC3339Nano),
		"location":     location,
		"version":      etag(version),
	}
}
