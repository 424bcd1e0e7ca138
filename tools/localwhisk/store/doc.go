// Package store persists localwhisk's entities as one JSON file per entity
// in a directory, each written atomically, so that a restarted server finds
// the actions, packages, triggers and rules it had.
package store
