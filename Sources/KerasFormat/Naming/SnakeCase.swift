/// Keras' `to_snake_case`, the base of every automatic layer name ("MaxPooling2D" → "max_pooling2d").
///
/// Mirrors tf-keras `utils/generic_utils.py` and Keras 3 `utils/naming.py`, which agree for class
/// names: drop non-word characters (Keras 3), insert `_` before each capitalised word and between a
/// lower-case letter and a capital, lower-case the result; a leading `_` becomes `private_` (tf-keras).
///
/// Keras' two substitutions, `(.)([A-Z][a-z]+)` then `([a-z])([A-Z])`, are scanned by hand with the
/// same left-to-right, non-overlapping matching: Swift parses and compiles a regex literal each time
/// it is evaluated, which was a fifth of loading DenseNet-121's weights (layers are named per load).
public func kerasSnakeCase(_ className: String) -> String {
    let word = Array(className.filter { $0.isLetter || $0.isNumber || $0 == "_" })
    var capitalised: [Character] = []
    var i = 0
    while i < word.count {
        capitalised.append(word[i])
        if i + 2 < word.count, isUpper(word[i + 1]), isLower(word[i + 2]) {
            var end = i + 3
            while end < word.count, isLower(word[end]) { end += 1 }
            capitalised.append("_")
            capitalised += word[(i + 1)..<end]
            i = end
        } else {
            i += 1
        }
    }
    var snake = ""
    i = 0
    while i < capitalised.count {
        snake.append(capitalised[i])
        if i + 1 < capitalised.count, isLower(capitalised[i]), isUpper(capitalised[i + 1]) {
            snake += "_" + String(capitalised[i + 1])
            i += 2
        } else {
            i += 1
        }
    }
    snake = snake.lowercased()
    return snake.hasPrefix("_") ? "private" + snake : snake
}

private func isUpper(_ c: Character) -> Bool { c.asciiValue.map { (65...90).contains($0) } ?? false }
private func isLower(_ c: Character) -> Bool { c.asciiValue.map { (97...122).contains($0) } ?? false }
