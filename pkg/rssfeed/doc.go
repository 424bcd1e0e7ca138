// Package rssfeed is a polling source for RSS and Atom feeds, written on the
// pkg/feed toolkit: each new item of the feed fires the trigger once. It is
// the worked example of a new source: no lifecycle, storage or firing code.
package rssfeed
