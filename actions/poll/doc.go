// Command poll is the private action the alarm rule of each polling S3
// trigger invokes: it lists the bucket, fires the changes and stores the
// new snapshot.
package main
