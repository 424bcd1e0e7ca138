package main

import (
	"os"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

func main() {
	runtime.Start(runtime.Typed(receive(os.Stdout)))
}
