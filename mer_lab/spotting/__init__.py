"""mer_lab.spotting"""
