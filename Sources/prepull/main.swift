print("prepull")
