package clusterview

import "k8s.io/apimachinery/pkg/labels"

var labelsEverything = labels.Everything()
