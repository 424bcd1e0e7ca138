package main

// deploySteps returns the steps `up` runs after the stack is running and
// stack.env is written; u.env holds that environment and u.cfg the ports
// (free ports already chosen). The deploy of manifest.yaml into localwhisk
// belongs here; a failing step rolls the whole `up` back.
func deploySteps(u *upRun) []step {
	return nil
}
