module github.com/micro-user/micro-user/sdk/go

go 1.21
