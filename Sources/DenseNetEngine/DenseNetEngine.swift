// DenseNetEngine
