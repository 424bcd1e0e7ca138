// Command notifications is the public feed action of S3 triggers fed by
// bucket notifications (s3-trigger-feed/notifications): it holds no secret
// and forwards each lifecycle request to the private lifecycle web action.
package main
