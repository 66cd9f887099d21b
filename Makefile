# Convenience targets; ./dev does the work (it also runs where make is not installed yet).
.PHONY: setup build demo test bench docs
setup build demo test bench docs:
	./dev $@
