import DenseNetEngine
import Foundation
import ONNXFormat
import Testing
