// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Multicall3Lite
/// @notice The `tryAggregate` entry point of the canonical Multicall3 interface, which the x402 EVM facilitator
/// uses to diagnose refused payments. Public chains have Multicall3 at 0xcA11bde05977b3631167028862bE2a173976CA11;
/// the local stack places this contract's runtime code at that address.
contract Multicall3Lite {
    struct Call {
        address target;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    function tryAggregate(bool requireSuccess, Call[] calldata calls) external payable returns (Result[] memory returnData) {
        returnData = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool success, bytes memory data) = calls[i].target.call(calls[i].callData);
            require(success || !requireSuccess, "Multicall3: call failed");
            returnData[i] = Result(success, data);
        }
    }
}
