module spangate.dev/plugins/reference-go

go 1.24
