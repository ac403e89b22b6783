module github.com/gregg-insights/gregg-insights

go 1.26

require github.com/magefile/mage v1.17.2
