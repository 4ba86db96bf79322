print("densenet-io")
