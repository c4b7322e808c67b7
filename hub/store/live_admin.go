package store

// LiveSiteCount is one site's share of the hub's kiosks in use (kiosks
// with someone signed in), for a view of every site that lists only some
// of them: CountLiveSites gives one per spelling of a site's name, as its
// kiosks were enrolled ("North" and "north" are two), and the reader
// folds them (FoldName) as logins match sites.
type LiveSiteCount struct {
	Site string
	// First is the least name of the spelling's kiosks in use, compared
	// by FoldName: what a view that orders kiosks by folded name and
	// names a site after its first kiosk needs to choose among
	// spellings.
	First    string
	Kiosks   int // kiosks with a live session
	Sessions int // live sessions on them
}

// LiveKiosk is a kiosk in use with its live sessions, ordered by Started,
// then ID.
type LiveKiosk struct {
	Device   Device
	Sessions []Session
}
