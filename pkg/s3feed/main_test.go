package s3feed_test

import (
	"testing"

	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
