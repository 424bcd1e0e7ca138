package main

import (
	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

func main() {
	runtime.Start(feed.Forward("s3-notifications"))
}
