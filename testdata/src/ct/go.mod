module example.invalid/consul-template-standin

go 1.19
