// Package scim is the protocol core of Shiftgate's SCIM 2.0 server
// (RFC 7643 schema, RFC 7644 protocol): the User, Enterprise User, Shiftgate
// frontline and Group schemas and their /Schemas and /ResourceTypes
// representations; normalisation and validation of incoming resources;
// filters (parse and evaluate); PATCH (parse and apply); attribute
// projection; and SCIM error values.
//
// Everything here is a pure function of its arguments: no I/O, no clock, no
// package state. The HTTP handlers and the store live elsewhere and call in.
//
// A resource is a map[string]any in canonical form: attribute names spelled
// as in the schema, extension attributes in an object under the extension
// URN key, dateTimes as RFC 3339 strings in UTC, booleans as bool, integers
// as int64 and decimals as float64. Normalize produces that form from a
// client's JSON; ApplyPatch and Project keep it. Filter matching expects it.
//
// Interoperability decisions (Okta and Microsoft Entra ID are the clients
// that matter) are documented on the function that makes them; the main
// ones are:
//   - unknown attributes in a body are ignored (RFC 7644 §3.3 allows it),
//     and so are unknown extension URNs listed in "schemas" and their data
//     (Entra lists its ADSCIM Group schema on every group); in a PATCH, a
//     value object or path naming nothing the server knows is invalidPath;
//   - Entra's string booleans ("True", "False") and its plain-string
//     enterprise manager are accepted;
//   - a filter on an attribute the schema does not define matches no
//     resource rather than failing (Entra probes with configurable matching
//     attributes and treats an empty list as "create");
//   - PATCH accepts Entra's and Okta's path-less value objects with dotted
//     and URN-qualified keys and with core attributes under the core schema
//     URN, and Entra's "remove members with a value list"; in a value
//     object unknown keys are ignored beside known ones, and an object
//     that names no attribute at all is invalidPath;
//   - an add or a replace with a value filter that matches nothing
//     creates the value the filter describes (emails[type eq "work"].value):
//     Entra sends Replace for values the target lacks, and RFC 7644's
//     noTarget refused the whole PATCH; a replace never adds a group
//     member;
//   - null in a replace, at a path or in a value object, and a blank
//     string for a dateTime or for employmentType, mean unassigned (an
//     open-ended contract's endDate arrives as null or ""), also at a
//     filtered path (certifications[name eq "x"].expires).
package scim
