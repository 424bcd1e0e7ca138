package main

import (
	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
)

func main() {
	runtime.Start(feed.Lifecycle(s3feed.Changes(), s3feed.Notifications()))
}
