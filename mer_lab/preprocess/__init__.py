"""mer_lab.preprocess"""
