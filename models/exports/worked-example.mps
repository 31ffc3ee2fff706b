*SENSE:Minimize
NAME          optsched_time_indexed
ROWS
 N  OBJ
 E  assign_0
 E  assign_1
COLUMNS
    MARK      'MARKER'                 'INTORG'
    x_0_0     assign_0   1.000000000000e+00
    x_0_0     OBJ        2.000000000000e+00
    MARK      'MARKER'                 'INTEND'
    MARK      'MARKER'                 'INTORG'
    x_1_0     assign_1   1.000000000000e+00
    x_1_0     OBJ        2.000000000000e+00
    MARK      'MARKER'                 'INTEND'
RHS
    RHS       assign_0   1.000000000000e+00
    RHS       assign_1   1.000000000000e+00
BOUNDS
 BV BND       x_0_0   
 BV BND       x_1_0   
ENDATA
