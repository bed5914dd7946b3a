module github.com/herald/herald/test/e2e/cluster/pause

go 1.22
