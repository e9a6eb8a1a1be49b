module gavel/bench/httpload

go 1.22
