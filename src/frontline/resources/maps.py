# registers map layers; filled in by the map work
