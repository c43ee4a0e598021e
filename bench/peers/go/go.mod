module troupe-bench-go

go 1.19
