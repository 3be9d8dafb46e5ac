module github.com/uvs-lb/uvs

go 1.24
