"""mer_lab.evaluation"""
