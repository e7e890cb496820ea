// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {TestPermit2} from "./TestPermit2.sol";

/// @title TestX402ExactPermit2Proxy — x402's exact Permit2 proxy, written for local tests only.
/// @notice The payer's permit names this contract as spender and a witness naming the recipient, so whoever
/// submits `settle` can only move exactly the permitted amount to that recipient, not before `validAfter`.
/// Placed (anvil_setCode) at the proxy's canonical address; same ABI as the official one.
contract TestX402ExactPermit2Proxy {
    struct Witness {
        address to;
        uint256 validAfter;
    }

    string public constant WITNESS_TYPE_STRING = "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)";
    bytes32 public constant WITNESS_TYPEHASH = keccak256("Witness(address to,uint256 validAfter)");

    TestPermit2 public immutable PERMIT2;

    /// The official proxy logs each settle it completes.
    event Settled();

    error PaymentTooEarly();
    error InvalidDestination();
    error InvalidOwner();

    constructor(TestPermit2 permit2) {
        PERMIT2 = permit2;
    }

    function settle(TestPermit2.PermitTransferFrom calldata permit, address owner, Witness calldata witness, bytes calldata signature) external {
        if (owner == address(0)) revert InvalidOwner();
        if (witness.to == address(0)) revert InvalidDestination();
        if (block.timestamp < witness.validAfter) revert PaymentTooEarly();
        PERMIT2.permitWitnessTransferFrom(
            permit,
            TestPermit2.SignatureTransferDetails({to: witness.to, requestedAmount: permit.permitted.amount}),
            owner,
            keccak256(abi.encode(WITNESS_TYPEHASH, witness.to, witness.validAfter)),
            WITNESS_TYPE_STRING,
            signature
        );
        emit Settled();
    }
}
