"""mer_lab.features"""
